"""A compact console display for a running sweep: a few lines per trial and a running total,
instead of Tune's pages of tables."""
from __future__ import annotations

import math
import sys
import time
from typing import Any, Callable, Mapping

from ray.tune import Callback

from analysis.results.stats import trial_label
from sweeps.runner.cli import TRIAL_EVERY_S
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


# The overall line (trials done, time left) at most this often.
OVERALL_EVERY_S = 10.0


class ProgressLine(Callback):
    """A throttled display: each trial's result line at most every `every` seconds, its final
    line always, and an overall line (trials done, time left) every `overall_every` seconds.
    `total` counts the trials the run will have, a fused population's members each (Optuna
    creates trials one at a time, so Tune's list is no count of them). Times and counts are
    this invocation's: Tune restores this callback, pickled when the run began, on --resume,
    and `setup()` then restarts the clock; the first step counts the trials already done."""

    def __init__(self, keys: list[str], max_epochs: int, total: int, max_steps: int | None = None,
                 presets: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
                 every: float = TRIAL_EVERY_S, overall_every: float = OVERALL_EVERY_S,
                 clock: Callable[[], float] = time.monotonic):
        # No stream attribute: Tune pickles callbacks with its state, and sys.stdout is looked up per line.
        self.keys, self.max_epochs, self.total, self.max_steps = keys, max_epochs, total, max_steps
        self.presets = {k: {label: dict(v) for label, v in table.items()} for k, table in (presets or {}).items()}
        self.every, self.overall_every, self.clock = every, overall_every, clock
        self.setup()

    def setup(self, **info) -> None:
        """At the start of every invocation (Tune calls it once its trials are restored)."""
        self.start = self.clock()
        self.done = 0
        self.done_before: int | None = None  # trials already done when this invocation began: its first step
        self.shown: dict[Any, float] = {}  # trial -> when its last line was printed
        self.fraction: dict[Any, tuple[float, int]] = {}  # running trial -> (part of its length trained, its trials)
        self.steps: dict[Any, int] = {}  # trial -> the step of its previous row (ms/step)
        self.overall_at = self.start
        self.first_result: float | None = None  # when this invocation's first result came: the pace starts there

    def _say(self, text: str) -> None:
        print(f"[{self.clock() - self.start:6.1f}s] {text}", file=sys.stdout, flush=True)

    def _label(self, config: Mapping[str, Any]) -> str:
        return trial_label(config, self.keys, empty="trial")

    def _length(self, config: Mapping[str, Any]) -> int:
        return self.max_steps or expand_presets(config, self.presets).get("max_epochs", self.max_epochs)  # a preset's own

    def _position(self, result: dict, config: Mapping[str, Any]) -> str:
        if self.max_steps:
            return f"step {result[M.STEP]:>6}/{self.max_steps}"
        return f"epoch {result[M.EPOCH]:>3}/{self._length(config)}"

    def _per_time(self, seconds: float, key: Any, result: dict, config: Mapping[str, Any]) -> str:
        """A row's training time: per epoch, or, for a run whose length is in steps, per step
        over the steps since the trial's previous row (eval_every of them, before any is known)."""
        if not self.max_steps:
            return f"{seconds:.2f}s/epoch"
        step = result[M.STEP]
        if step == 0:
            return "before training"  # the untrained model's evaluation (eval_at_start)
        previous = self.steps.get(key, step - expand_presets(config, self.presets).get("eval_every", 1))
        self.steps[key] = step
        return f"{1000 * seconds / max(1, step - previous):.1f} ms/step"

    def on_step_begin(self, iteration, trials, **info):
        if self.done_before is None:
            self.done_before = sum(_size(t) for t in trials if getattr(t, "status", None) == "TERMINATED")
            self.done = self.done_before
            if self.done:
                self._say(f"resumed: {self.done}/{self.total} trials were done before; times count from this start")

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if M.EPOCH not in result:
            return
        members = trial.config.get(M.MEMBERS, [trial.config])
        key = getattr(trial, "trial_id", id(trial))
        position = result[M.STEP] if self.max_steps else result[M.EPOCH]
        self.fraction[key] = (min(1.0, position / max(1, self._length(members[0]))), len(members))
        now = self.clock()
        self.first_result = now if self.first_result is None else self.first_result
        text = self._result_text(trial, key, result)  # also when not shown: the step it keeps for ms/step
        if key not in self.shown or now - self.shown[key] >= self.every:
            self.shown[key] = now
            self._say(text)
        if now - self.overall_at >= self.overall_every:
            self._overall(now)

    def _result_text(self, trial, key: Any, result: dict) -> str:
        rows = result.get(M.MEMBERS)
        if rows and len(trial.config[M.MEMBERS]) > 1:  # a fused population: one line for all its members
            # by validation loss, or by training loss on rows between held-out evaluations (holdout_every)
            # (text studies at source settings hold no validation split: no val_loss at all)
            judged = M.VAL_LOSS if not any(math.isnan(r.get(M.VAL_LOSS, math.nan)) for r in rows) else M.TRAIN_LOSS
            best = min(rows, key=lambda r: r[judged])
            stopped = sum(r[M.STOPPED] for r in rows)
            config = trial.config[M.MEMBERS][best[M.MEMBER]]  # with the data keys (length=...) a row's config lacks
            return (f"population of {rows[0][M.FUSED_MEMBERS]:<3} {self._position(result, config)}"
                    f"  {len(rows)} trained, {stopped} stopped  best {self._label(config)}:"
                    f" {metrics_text(best)}  {self._per_time(result[M.EPOCH_TIME_S], key, result, config)} on {best[M.DEVICE]}")
        # the trial's own config names its preset axes (text_model=...); a row's flat one has them expanded
        row = rows[0] if rows else result
        config = trial.config.get(M.MEMBERS, [trial.config])[0]
        return (f"{self._label(config):<28} {self._position(result, config)}  {metrics_text(row)}"
                f"  {self._per_time(row[M.EPOCH_TIME_S], key, result, config)} on {row[M.DEVICE]}")

    def _overall(self, now: float) -> None:
        """"overall: 3/8 trials done, 52% trained, about 40 s left": the time left extrapolates
        this invocation's pace since its first result (Tune's set-up before it trains nothing)
        over what it has trained (trials done before a resume excluded)."""
        trained = (self.done + sum(f * n for f, n in self.fraction.values())) / max(1, self.total)
        before = (self.done_before or 0) / max(1, self.total)
        if trained <= before:  # nothing trained yet by this invocation: no pace to tell the time left by
            return
        self.overall_at = now
        from sweeps.runner.estimate import fmt_seconds

        left = fmt_seconds((now - self.first_result) * (1 - trained) / (trained - before))
        self._say(f"overall: {self.done}/{self.total} trials done, {trained:.0%} trained, about {left} left")

    def _ended(self, trial) -> None:
        self.done += _size(trial)
        self.fraction.pop(getattr(trial, "trial_id", id(trial)), None)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._ended(trial)
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
        self._ended(trial)
        members = trial.config.get(M.MEMBERS)
        config = members[0] if members and len(members) == 1 else trial.config
        self._say(f"{self._label(config):<28} FAILED (error file in {trial.path})")


def _size(trial) -> int:
    """Trials a Tune trial stands for: a fused population's members, else one."""
    return len(trial.config.get(M.MEMBERS, [None]))
