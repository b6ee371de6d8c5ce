"""A run's phases, timed as it goes, and recorded into the machine's phase cache when it ends
well (sweeps.runner.calibration.PhaseTimes), so that the next estimate of any sweep here starts
from what this machine really took: start-up (process start to the printed estimate, the
preview's timings included), Ray's start (from there to the first trial's first row: what is
left of Ray's start beside the preview, the Tuner, the first worker's data and model), a later trial's start in a warm worker, and the
results phase (Ray's stop, tables, plots, post-hoc studies, report).

    phase_clock.start_run()      # at the runner's start: a fresh set of marks
    phase_clock.mark("estimate") # ... "trials", "results"; Tune's callback (trial_clock) times the trials
    phase_clock.record(plan)     # after a complete run
"""
from __future__ import annotations

import statistics
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sweeps.runner.plan import Plan

# Module state, not TrialClock's (sweeps.runner.trial_clock): Tune may copy its callbacks, and all of
# this lives in the driver.
_MARKS: dict[str, float] = {}
TRIALS: dict[str, dict[str, float]] = {}  # written by sweeps.runner.trial_clock.TrialClock
_EXPECTED: dict[str, float] = {}  # "training": the preview's unscaled seconds of all trials' training
_RUNS = [0]  # runs started in this process: only the first one pays the interpreter's start-up


EXEC_GAP_S = 5.0  # interpreter start to the entry's import: 0.1 s, a few seconds from a cold disk


def process_start() -> float:
    """Unix time this process started (the interpreter's start included). A shell that ran
    something else first may exec python in its own process (`bash -c "pip install -e . && python
    -m sweeps.mnist_width"`), whose start is then the shell's, minutes earlier: where the entry
    (sweeps.runner.entry, imported by a sweep module first of all) came more than EXEC_GAP_S
    after it, the run starts at the entry's import instead."""
    import psutil

    created = psutil.Process().create_time()
    entry_imported = getattr(sys.modules.get("sweeps.runner.entry"), "IMPORTED_AT", None)
    return entry_imported if entry_imported is not None and entry_imported - created > EXEC_GAP_S else created


def start_run() -> None:
    _MARKS.clear()
    TRIALS.clear()
    _EXPECTED.clear()
    _RUNS[0] += 1
    mark("run")


def mark(name: str) -> None:
    _MARKS[name] = time.time()


# --profile: the main thread's marks in the order a run passes them, each ending the phase named
# beside it (a phase a run skips, such as post-hoc studies for a sweep without any, is left out).
PROFILE = (("run", "imports (interpreter, torch, pandas, our modules)"),
           ("checked", "plan and checks (data read, plan validated, resources)"),
           ("ray_up", "Ray start (the cost preview runs beside it)"),
           ("previewed", "waiting for the cost preview"),
           ("trials", "training (Tuner built, trials run)"),
           ("ray_stopped", "Ray stop"),
           ("collected", "collection (Parquet tables, predictions)"),
           ("posthoc", "post-hoc studies"),
           ("plots", "plots"),
           ("report", "report (report.md, report.html)"),
           ("results", "summary and --log backends"))


def profile_lines() -> list[str]:
    """This run's wall time per phase (PROFILE), from the process's start to now; the exit that
    follows (the interpreter's and Ray's atexit work) is only visible from outside the process."""
    now, rows, before = time.time(), [], run_start()
    for name, label in PROFILE:
        if name in _MARKS:
            rows.append((label, _MARKS[name] - before))
            before = _MARKS[name]
    total = now - run_start()
    rows.append(("the rest (resume hints, session record)", max(now - before, 0.0)))
    width = max(len(label) for label, _ in rows)
    lines = ["profile: wall time per phase of this run"]
    lines += [f"  {label:<{width}}  {seconds:6.2f} s  {100 * seconds / total:4.0f}%" for label, seconds in rows]
    lines.append(f"  {'total, process start to now':<{width}}  {total:6.2f} s")
    first = min((t["first"] for t in TRIALS.values() if "first" in t), default=None)
    if first is not None and "trials" in _MARKS and "previewed" in _MARKS:
        lines.append(f"  (training: its first {first - _MARKS['previewed']:.2f} s came before the first trial's first "
                     "row: the Tuner, Ray's workers importing torch, the first trial's data and model)")
    if "estimate" in _MARKS and "ray_up" in _MARKS and "checked" in _MARKS:
        lines.append(f"  (the cost preview took {_MARKS['estimate'] - _MARKS['checked']:.2f} s of Ray's start, in a thread)")
    return lines


def expect_training(seconds: float) -> None:
    """The preview's timings' seconds of all the trials' steps and evaluations (unscaled)."""
    _EXPECTED["training"] = seconds


def startup_seconds() -> float:
    """Seconds from the start to the estimate (to now, before it): from the process's start for its
    first run, from the run's own start for a later one (the curriculum runs many sweeps in one
    process, and only the first pays the interpreter and the imports)."""
    return _MARKS.get("estimate", time.time()) - run_start()


def run_start() -> float:
    """Unix time this run began: its process's start for the process's first run, else start_run()."""
    return process_start() if _RUNS[0] <= 1 else _MARKS.get("run", time.time())


def measured() -> dict[str, float | None]:
    """This run's phase seconds (None where the run did not measure one): start-up, Ray's start
    to the first trial's first row, the median start of the trials that began in a warm worker
    (after some trial had ended), the results phase, and the trials' training seconds (each
    trial's first row to its end) against what the preview's timings expected."""
    trials = [t for t in TRIALS.values() if "start" in t and "first" in t]
    first = min((t["first"] for t in trials), default=None)
    ended = min((t["end"] for t in TRIALS.values() if "end" in t), default=None)
    warm = [t["first"] - t["start"] for t in trials if ended is not None and t["start"] >= ended]
    marks = _MARKS
    return {
        "startup": startup_seconds() if "estimate" in marks and _RUNS[0] <= 1 else None,
        "ray_start": first - marks["estimate"] if first is not None and "estimate" in marks and "ray_started" in marks else None,
        "trial_start": max(statistics.median(warm), 0.0) if warm else None,
        "results": marks["results"] - marks["trials"] if "results" in marks and "trials" in marks else None,
        "probe_factor": probe_factor(),
    }


# Bounds of a recorded probe factor: beyond them a run was disturbed, not the probe biased.
FACTOR_BOUNDS = (0.2, 5.0)


def probe_factor() -> float | None:
    trained = [t["end"] - t["first"] for t in TRIALS.values() if "first" in t and "end" in t]
    expected = _EXPECTED.get("training", 0.0)
    if not trained or len(trained) < len(TRIALS) or expected <= 0:
        return None
    return min(max(sum(trained) / expected, FACTOR_BOUNDS[0]), FACTOR_BOUNDS[1])


def results_key(plan: Plan) -> str:
    """The results phase is cached per sweep, smoke tests apart (their post-hoc studies are smaller)."""
    return plan.sweep.name + (" --smoke-test" if plan.smoke_test else "")


def record(plan: Plan) -> None:
    """Fold this run's measurements into the machine's phase cache."""
    from sweeps.runner.calibration import phase_times, save_phase_times

    m = measured()
    if plan.scheduler == "asha" or plan.min_delta is not None:  # trials stopped early say nothing of the probe
        m["probe_factor"] = None
    save_phase_times(phase_times().recorded(plan.sweep.dataset, results_key(plan), m["startup"], m["ray_start"],
                                            m["trial_start"], m["results"], m["probe_factor"]))
