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


def palindrome_trainable(config, **kwargs):
    """Palindromes generated every step: cross-entropy and accuracy on the last digit."""
    return run_trial(config, objective="palindrome", **kwargs)


def language_model_trainable(config, **kwargs):
    """Random windows of a character stream: cross-entropy per character and bits per character."""
    return run_trial(config, objective="language_model", **kwargs)


FAMILIES = {"classification": classification_trainable, "regression": regression_trainable,
            "palindrome": palindrome_trainable, "language_model": language_model_trainable}
