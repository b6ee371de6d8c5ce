"""A compact console display for a running sweep: one line per finished epoch or trial,
instead of Tune's pages of tables."""
from __future__ import annotations

import sys
import time

from ray.tune import Callback

from trainables import metrics as M


def trial_label(config: dict, keys: list[str]) -> str:
    parts = []
    for k in keys:
        v = config.get(k)
        parts.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
    return " ".join(parts) or "trial"


def metrics_text(row: dict) -> str:
    """The losses and accuracies a row has (a regression row has losses only)."""
    parts = [f"{name} {row[key]:.4f}" for name, key in (("loss", M.TRAIN_LOSS), ("val_loss", M.VAL_LOSS)) if key in row]
    parts += [f"{key} {row[key]:.3f}" for key in (M.VAL_ACC, M.TEST_ACC) if key in row]
    return "  ".join(parts)


class ProgressLine(Callback):
    def __init__(self, keys: list[str], max_epochs: int, max_steps: int | None = None):
        # No stream attribute: Tune pickles callbacks with its state, and sys.stdout is looked up per line.
        self.keys, self.max_epochs, self.max_steps = keys, max_epochs, max_steps
        self.start = time.monotonic()
        self.done = 0

    def _say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.start:6.1f}s] {text}", file=sys.stdout, flush=True)

    def _position(self, result: dict) -> str:
        if self.max_steps:
            return f"step {result[M.STEP]:>6}/{self.max_steps}"
        return f"epoch {result[M.EPOCH]:>3}/{self.max_epochs}"

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if M.EPOCH not in result:
            return
        rows = result.get(M.MEMBERS)
        if rows and len(trial.config[M.MEMBERS]) > 1:  # a fused population: one line for all its members
            best = min(rows, key=lambda r: r[M.VAL_LOSS])
            stopped = sum(r[M.STOPPED] for r in rows)
            self._say(
                f"population of {rows[0][M.FUSED_MEMBERS]:<3} {self._position(result)}"
                f"  {len(rows)} trained, {stopped} stopped  best {trial_label(best['config'], self.keys)}:"
                f" {metrics_text(best)}  {result[M.EPOCH_TIME_S]:.2f}s/epoch on {best[M.DEVICE]}"
            )
            return
        row, config = (rows[0], rows[0]["config"]) if rows else (result, trial.config)
        self._say(
            f"{trial_label(config, self.keys):<28} {self._position(result)}  {metrics_text(row)}"
            f"  {row[M.EPOCH_TIME_S]:.2f}s/epoch on {row[M.DEVICE]}"
        )

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.done += 1
        last = trial.last_result or {}
        members = trial.config.get(M.MEMBERS)
        if members and len(members) > 1:
            self._say(f"population of {len(members)} finished  ({self.done}/{len(trials)} trials done)")
            return
        row = last[M.MEMBERS][0] if M.MEMBERS in last else last
        config = members[0] if members else trial.config
        score = f"  test_acc {row[M.TEST_ACC]:.3f}" if M.TEST_ACC in row else (
            f"  test_loss {row[M.TEST_LOSS]:.4g}" if M.TEST_LOSS in row else "")
        self._say(f"{trial_label(config, self.keys):<28} finished after {last.get(M.EPOCH, 0)} epochs{score}"
                  f"  ({self.done}/{len(trials)} trials done)")

    def on_trial_error(self, iteration, trials, trial, **info):
        self.done += 1
        members = trial.config.get(M.MEMBERS)
        config = members[0] if members and len(members) == 1 else trial.config
        self._say(f"{trial_label(config, self.keys):<28} FAILED (error log in {trial.local_path})")
