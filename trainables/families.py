"""Experiment family name -> Ray function trainable(config, *, data, provenance, cpus, presets)."""
from trainables.classification import classification_trainable

FAMILIES = {"classification": classification_trainable}
