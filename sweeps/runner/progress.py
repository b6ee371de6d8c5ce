"""A compact console display for a running sweep: one line per finished epoch or trial,
instead of Tune's pages of tables."""
from __future__ import annotations

import math
import sys
import time
from typing import Any, Mapping

from ray.tune import Callback

from analysis.results.stats import trial_label
from trainables import metrics as M
from trainables.config import expand_presets

# Decimals a metric prints with, everywhere on the console: losses 4, accuracies 3, seconds 2.
DECIMALS = {M.TRAIN_LOSS: 4, M.VAL_LOSS: 4, M.TEST_LOSS: 4, M.TRAIN_ACC: 3, M.VAL_ACC: 3, M.TEST_ACC: 3,
            M.EPOCH_TIME_S: 2, M.TIME_TOTAL_S: 2}


def fmt_metric(name: str, value) -> str:
    """A metric value with its fixed number of decimals (0.9175 and 0.92 never side by side)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "nan" if value is None else str(value)
    return "nan" if math.isnan(value) else f"{value:.{DECIMALS.get(name, 4)}f}"


def metrics_text(row: dict) -> str:
    """The losses and accuracies a row has (a regression row has losses only; a row between
    held-out evaluations, holdout_every, has the training ones)."""
    def has(key: str) -> bool:
        return key in row and not (key != M.TRAIN_LOSS and isinstance(row[key], float) and math.isnan(row[key]))

    parts = [f"{name} {fmt_metric(key, row[key])}" for name, key in (("loss", M.TRAIN_LOSS), ("val_loss", M.VAL_LOSS))
             if has(key)]
    parts += [f"{key} {fmt_metric(key, row[key])}" for key in (M.TRAIN_ACC, M.VAL_ACC, M.TEST_ACC)
              if has(key) and (key != M.TRAIN_ACC or not has(M.VAL_ACC))]
    return "  ".join(parts)


class ProgressLine(Callback):
    """One line per epoch and per finished trial; `total` is the number of trials the run will
    have (Optuna creates them one at a time, so Tune's list is no count of them)."""

    def __init__(self, keys: list[str], max_epochs: int, total: int, max_steps: int | None = None,
                 presets: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None):
        # No stream attribute: Tune pickles callbacks with its state, and sys.stdout is looked up per line.
        self.keys, self.max_epochs, self.total, self.max_steps = keys, max_epochs, total, max_steps
        self.presets = {k: {label: dict(v) for label, v in table.items()} for k, table in (presets or {}).items()}
        self.start = time.monotonic()
        self.done = 0

    def _say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.start:6.1f}s] {text}", file=sys.stdout, flush=True)

    def _label(self, config: Mapping[str, Any]) -> str:
        return trial_label(config, self.keys, empty="trial")

    def _position(self, result: dict, config: Mapping[str, Any]) -> str:
        if self.max_steps:
            return f"step {result[M.STEP]:>6}/{self.max_steps}"
        epochs = expand_presets(config, self.presets).get("max_epochs", self.max_epochs)  # a preset's own length
        return f"epoch {result[M.EPOCH]:>3}/{epochs}"

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if M.EPOCH not in result:
            return
        rows = result.get(M.MEMBERS)
        if rows and len(trial.config[M.MEMBERS]) > 1:  # a fused population: one line for all its members
            # by validation loss, or by training loss on rows between held-out evaluations (holdout_every)
            # (text studies at source settings hold no validation split: no val_loss at all)
            judged = M.VAL_LOSS if not any(math.isnan(r.get(M.VAL_LOSS, math.nan)) for r in rows) else M.TRAIN_LOSS
            best = min(rows, key=lambda r: r[judged])
            stopped = sum(r[M.STOPPED] for r in rows)
            config = trial.config[M.MEMBERS][best[M.MEMBER]]  # with the data keys (length=...) a row's config lacks
            self._say(
                f"population of {rows[0][M.FUSED_MEMBERS]:<3} {self._position(result, config)}"
                f"  {len(rows)} trained, {stopped} stopped  best {self._label(config)}:"
                f" {metrics_text(best)}  {result[M.EPOCH_TIME_S]:.2f}s/epoch on {best[M.DEVICE]}"
            )
            return
        # the trial's own config names its preset axes (text_model=...); a row's flat one has them expanded
        row = rows[0] if rows else result
        config = trial.config.get(M.MEMBERS, [trial.config])[0]
        self._say(
            f"{self._label(config):<28} {self._position(result, config)}  {metrics_text(row)}"
            f"  {row[M.EPOCH_TIME_S]:.2f}s/epoch on {row[M.DEVICE]}"
        )

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.done += 1
        last = trial.last_result or {}
        members = trial.config.get(M.MEMBERS)
        if members and len(members) > 1:
            self._say(f"population of {len(members)} finished  ({self.done}/{self.total} trials done)")
            return
        row = last[M.MEMBERS][0] if M.MEMBERS in last else last
        config = members[0] if members else trial.config
        score = next((f"  {key} {fmt_metric(key, row[key])}" for key in (M.TEST_ACC, M.TEST_LOSS) if key in row), "")
        length = f"{last.get(M.STEP, 0)} steps" if self.max_steps else f"{last.get(M.EPOCH, 0)} epochs"
        self._say(f"{self._label(config):<28} finished after {length}{score}"
                  f"  ({self.done}/{self.total} trials done)")

    def on_trial_error(self, iteration, trials, trial, **info):
        self.done += 1
        members = trial.config.get(M.MEMBERS)
        config = members[0] if members and len(members) == 1 else trial.config
        self._say(f"{self._label(config):<28} FAILED (error file in {trial.path})")
