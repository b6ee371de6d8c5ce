"""The Tune callback that times each trial for the phase clock (sweeps.runner.phase_clock), apart
from it because importing Ray Tune takes seconds that a run pays only once it starts Tune."""
from __future__ import annotations

import time

from ray.tune import Callback

from sweeps.runner.phase_clock import TRIALS


class TrialClock(Callback):
    """When each trial started, reported its first row (and the seconds of work in that row),
    and ended, on the driver's clock."""

    def on_trial_start(self, iteration, trials, trial, **info):
        TRIALS.setdefault(trial.trial_id, {})["start"] = time.time()

    def on_trial_result(self, iteration, trials, trial, result, **info):
        times = TRIALS.setdefault(trial.trial_id, {})
        if "first" not in times:
            times["first"] = time.time() - float(result.get("time_this_iter_s") or 0.0)

    def on_trial_complete(self, iteration, trials, trial, **info):
        TRIALS.setdefault(trial.trial_id, {})["end"] = time.time()
