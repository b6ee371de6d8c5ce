"""A compact console display for a running sweep: one line per finished epoch or trial,
instead of Tune's pages of tables."""
from __future__ import annotations

import sys
import time

from ray.tune import Callback

from trainables import metrics as M
from trainables.population import MEMBERS


def trial_label(config: dict, keys: list[str]) -> str:
    parts = []
    for k in keys:
        v = config.get(k)
        parts.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
    return " ".join(parts) or "trial"


class ProgressLine(Callback):
    def __init__(self, keys: list[str], max_epochs: int):
        # No stream attribute: Tune pickles callbacks with its state, and sys.stdout is looked up per line.
        self.keys, self.max_epochs = keys, max_epochs
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
            self._say(f"population of {len(trial.config[MEMBERS])} finished  ({self.done}/{len(trials)} trials done)")
            return
        self._say(
            f"{trial_label(trial.config, self.keys):<28} finished after {last.get(M.EPOCH, 0)} epochs"
            f"  test_acc {last.get(M.TEST_ACC, float('nan')):.3f}  ({self.done}/{len(trials)} trials done)"
        )

    def on_trial_error(self, iteration, trials, trial, **info):
        self.done += 1
        self._say(f"{trial_label(trial.config, self.keys):<28} FAILED (error log in {trial.local_path})")
