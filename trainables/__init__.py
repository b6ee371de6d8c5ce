"""Ray Tune trainables, one per experiment family, all over `trainables.loop.run_training`."""
from trainables.classification import classification_trainable

# Family name -> function trainable(config, *, data, provenance, cpus, presets).
FAMILIES = {"classification": classification_trainable}

__all__ = ["FAMILIES", "classification_trainable"]
