"""Objective name -> Ray function trainable(config, *, data, provenance, cpus, gpus, presets,
member_stop): the one adapter (trainables.adapter) with that objective
(trainables.objectives.OBJECTIVES). A new objective needs no entry here."""
from __future__ import annotations

from typing import Callable

from trainables.adapter import run_trial
from trainables.objectives import OBJECTIVES


def trainable_for(objective: str) -> Callable[..., None]:
    """The trainable of a registered objective, named `<objective>_trainable` (Tune shows the name)."""
    OBJECTIVES[objective]  # an unknown name fails here, listing the registered ones

    def trainable(config, **kwargs):
        return run_trial(config, objective=objective, **kwargs)

    trainable.__name__ = trainable.__qualname__ = f"{objective}_trainable"
    return trainable
