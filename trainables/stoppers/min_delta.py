"""Min-delta early stopping as a Tune Stopper.

Rule: stop a trial once its monitored metric (default val_loss, mode min) has improved on its
best value by less than `min_delta` for `patience` consecutive epochs, or once it has run
`max_epochs` epochs. The defaults (1e-4, patience 1) are the classic rule "stop after 100
epochs or when the validation loss decreases by less than 1e-4".

    RunConfig(stop=MinDeltaStopper(min_delta=1e-4, patience=1, max_epochs=100))

Works beside ASHA: the scheduler ends unpromising trials, this ends converged ones.
"""
from __future__ import annotations

import math

from ray.tune import Stopper

from trainables import metrics as M


class MinDeltaStopper(Stopper):
    def __init__(self, metric: str = M.VAL_LOSS, mode: str = "min", min_delta: float = 1e-4,
                 patience: int = 1, max_epochs: int | None = None):
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode!r} is not allowed; use min or max")
        if min_delta < 0 or patience < 1:
            raise ValueError(f"min_delta {min_delta!r} must be >= 0 and patience {patience!r} >= 1")
        self.metric, self.mode, self.min_delta, self.patience, self.max_epochs = metric, mode, min_delta, patience, max_epochs
        # Plain dicts keyed by trial id: Tune pickles stoppers into its experiment checkpoint.
        self._best: dict[str, float] = {}
        self._stale: dict[str, int] = {}

    def __call__(self, trial_id: str, result: dict) -> bool:
        epoch = result.get(M.EPOCH, result.get("training_iteration", 0))
        if self.max_epochs is not None and epoch >= self.max_epochs:
            return True
        value = result.get(self.metric)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        value = value if self.mode == "min" else -value
        best = self._best.get(trial_id)
        if best is None or best - value >= self.min_delta:
            self._stale[trial_id] = 0
        else:
            self._stale[trial_id] = self._stale.get(trial_id, 0) + 1
        self._best[trial_id] = value if best is None else min(best, value)
        return self._stale[trial_id] >= self.patience

    def stop_all(self) -> bool:
        return False
