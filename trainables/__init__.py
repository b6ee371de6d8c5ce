"""Ray Tune trainables, one per experiment family (see trainables.families), all over the one
Ray-free loop in trainables.loop. Kept import-free so `trainables.metrics` loads without Ray."""
