"""Experiment family name -> Ray function trainable(config, *, data, provenance, cpus, gpus,
presets, member_stop): the one adapter (trainables.adapter) with the family's objective, which
has the family's name in trainables.objectives.OBJECTIVES."""
from trainables.adapter import run_trial


def classification_trainable(config, **kwargs):
    """Class labels: cross-entropy and accuracy (images, token sequences, 2-D points)."""
    return run_trial(config, objective="classification", **kwargs)


def regression_trainable(config, **kwargs):
    """Real-valued targets: mean squared error, losses only."""
    return run_trial(config, objective="regression", **kwargs)


FAMILIES = {"classification": classification_trainable, "regression": regression_trainable}
