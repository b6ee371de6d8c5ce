"""A compact console display for a running sweep: one line per finished epoch or trial,
instead of Tune's pages of tables."""
from __future__ import annotations

import math
import sys
import time

from ray.tune import Callback

from analysis.stats import fmt_value
from trainables import metrics as M
from trainables.population import MEMBERS

# Decimals a metric prints with, everywhere on the console: losses 4, accuracies 3, seconds 2.
DECIMALS = {M.TRAIN_LOSS: 4, M.VAL_LOSS: 4, M.TEST_LOSS: 4, M.TRAIN_ACC: 3, M.VAL_ACC: 3, M.TEST_ACC: 3,
            M.EPOCH_TIME_S: 2, M.TIME_TOTAL_S: 2}


def fmt_metric(name: str, value) -> str:
    """A metric value with its fixed number of decimals (0.9175 and 0.92 never side by side)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "nan" if value is None else str(value)
    return "nan" if math.isnan(value) else f"{value:.{DECIMALS.get(name, 4)}f}"


def trial_label(config: dict, keys: list[str]) -> str:
    return " ".join(f"{k}={fmt_value(config.get(k))}" for k in keys) or "trial"


class ProgressLine(Callback):
    """One line per epoch and per finished trial; `total` is the number of trials the run will
    have (Optuna creates them one at a time, so Tune's list is no count of them)."""

    def __init__(self, keys: list[str], max_epochs: int, total: int):
        # No stream attribute: Tune pickles callbacks with its state, and sys.stdout is looked up per line.
        self.keys, self.max_epochs, self.total = keys, max_epochs, total
        self.start = time.monotonic()
        self.done = 0

    def _say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.start:6.1f}s] {text}", file=sys.stdout, flush=True)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if M.EPOCH not in result:
            return
        if MEMBERS in result:  # a fused population: one line for all its members
            rows = result[MEMBERS]
            best = min(rows, key=lambda r: r[M.VAL_LOSS])
            stopped = sum(r[M.STOPPED] for r in rows)
            self._say(
                f"population of {rows[0][M.FUSED_MEMBERS]:<3} epoch {result[M.EPOCH]:>3}/{self.max_epochs}"
                f"  {len(rows)} trained, {stopped} stopped  best {trial_label(best['config'], self.keys)}:"
                f" val_loss {best[M.VAL_LOSS]:.4f} val_acc {best[M.VAL_ACC]:.3f} test_acc {best[M.TEST_ACC]:.3f}"
                f"  {result[M.EPOCH_TIME_S]:.2f}s/epoch on {best[M.DEVICE]}"
            )
            return
        self._say(
            f"{trial_label(trial.config, self.keys):<28} epoch {result[M.EPOCH]:>3}/{self.max_epochs}"
            f"  loss {result[M.TRAIN_LOSS]:.4f}  val_loss {result[M.VAL_LOSS]:.4f}"
            f"  val_acc {result[M.VAL_ACC]:.3f}  test_acc {result[M.TEST_ACC]:.3f}"
            f"  {result[M.EPOCH_TIME_S]:.2f}s/epoch on {result[M.DEVICE]}"
        )

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.done += 1
        last = trial.last_result or {}
        if MEMBERS in last:
            self._say(f"population of {len(trial.config[MEMBERS])} finished  ({self.done}/{self.total} trials done)")
            return
        self._say(
            f"{trial_label(trial.config, self.keys):<28} finished after {last.get(M.EPOCH, 0)} epochs"
            f"  test_acc {fmt_metric(M.TEST_ACC, last.get(M.TEST_ACC))}  ({self.done}/{self.total} trials done)"
        )

    def on_trial_error(self, iteration, trials, trial, **info):
        self.done += 1
        self._say(f"{trial_label(trial.config, self.keys):<28} FAILED (error log in {trial.local_path})")
