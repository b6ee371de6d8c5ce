"""The Tune callback behind `--log`: every trial, and every member of a fused population, as its
own run in each backend (sweeps.runner.run_logs), with its config as parameters and one point
per result row for every numeric metric, at the row's optimizer step."""
from __future__ import annotations

import math
import time
from typing import Any, Callable

from ray.tune import Callback

from analysis.results.collect import TUNE_COLUMNS, cell
from analysis.results.stats import trial_label
from sweeps.runner.run_logs import FAILED, FINISHED, MemberBackend, RunInfo, backend_class, stopped
from trainables import metrics as M
from trainables.population_rows import unpack

# Numbers in a row that are not measurements: the step is the x-axis, the rest say which member
# or when (wall-clock stamps would plot as a straight line).
NOT_METRICS = set(TUNE_COLUMNS) | {M.STEP, M.MEMBER, M.FUSED_MEMBERS, M.STOPPED, M.REPORTED_AT, M.STARTED_AT}


def numeric_metrics(row: dict[str, Any]) -> dict[str, float]:
    """Every number of a row that is a measurement; NaN (a held-out metric not evaluated at that
    row: holdout_every) is not a point."""
    return {k: float(v) for k, v in row.items() if k not in NOT_METRICS and isinstance(v, (int, float))
            and not isinstance(v, bool) and not math.isnan(v)}


def params(config: dict[str, Any]) -> dict[str, Any]:
    """A member's config as flat parameters: lists as "128-64", as in the results tables."""
    return {k: "None" if v is None else cell(v) for k, v in config.items() if k != M.MEMBERS}


class MemberLog(Callback):
    """Hands each member's rows to every backend, each row once per backend, even across
    `--resume` (a restored trial repeats the rows since its checkpoint): the backend's LogState
    holds each member's last logged step.

    Not Ray's TBXLoggerCallback, MLflowLoggerCallback or WandbLoggerCallback: they make one run per
    Tune trial from `trial.config` and the trial's result, which for a fused population is one run
    holding the best member's value of each metric; and they log again what a restored trial
    repeats. Here a plain trial is a population of one, so one code path serves both."""

    def __init__(self, names: tuple[str, ...], run: RunInfo, label_keys: list[str]):
        self.names, self.run, self.label_keys = names, run, label_keys
        self.backends: list[MemberBackend] = []

    def __getstate__(self):
        """Tune pickles its callbacks with the run (tuner.pkl) before they open anything; never
        open writers or clients."""
        return {**self.__dict__, "backends": []}

    def setup(self, **info):
        for name in self.names:
            self.guarded(name, lambda: self.backends.append(backend_class(name)(self.run)))
        for backend in self.backends:
            print(f"log: {backend.where()}", flush=True)

    def guarded(self, name: str, work: Callable[[], Any]) -> None:
        """Run one backend's step; if it fails (a tracking server gone), say so in one line and
        log no more to it: the sweep itself goes on."""
        try:
            work()
        except Exception as e:  # noqa: BLE001 - logging must never end the training
            stopped(name, e)
            self.backends = [b for b in self.backends if b.name != name]

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if M.STEP not in result:  # Tune's own rows, not the loop's
            return
        members = list(unpack(trial.trial_id, trial.config, [result]))
        for backend in list(self.backends):
            self.guarded(backend.name, lambda: self.log_result(backend, members))

    def log_result(self, backend: MemberBackend, members: list[tuple[str, dict, list[dict]]]) -> None:
        for member, config, rows in members:
            self.log_rows(backend, member, config, rows)
        backend.state.save()

    def log_rows(self, backend: MemberBackend, member: str, config: dict[str, Any], rows: list[dict]) -> None:
        for row in rows:
            step = int(row[M.STEP])
            if step <= backend.state.steps.get(member, -1):
                continue
            metrics = numeric_metrics(row)
            if member not in backend.open:
                title = f"{trial_label(config, self.label_keys)} {member}".strip()
                backend.start(member, title, params(config), [m for m in M.MODES if m in metrics])
            backend.log(member, step, metrics, float(row.get(M.REPORTED_AT) or time.time()))
            backend.state.steps[member] = step

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.end_members(trial, FINISHED)

    def on_trial_error(self, iteration, trials, trial, **info):
        self.end_members(trial, FAILED)

    def end_members(self, trial, status: str) -> None:
        for member, _, _ in unpack(trial.trial_id, trial.config, []):
            for backend in list(self.backends):
                if member in backend.open:
                    self.guarded(backend.name, lambda: backend.end(member, status))

    def on_experiment_end(self, trials, **info):
        for backend in list(self.backends):
            self.guarded(backend.name, backend.close)
