"""The fixed phases of a run (start-up, Ray's start, a trial's start, the results phase): measured
by each finished run, cached per machine, and read back by the next estimate."""
import subprocess
import sys

import pytest

from sweeps.runner import calibration, phase_clock
from sweeps.runner.calibration import RAY_START_S, RESULTS_S, STARTUP_S, TRIAL_START_S, PhaseTimes


@pytest.fixture
def phase_cache(tmp_path, monkeypatch):
    """A phase cache of this test's own, empty at first."""
    path = tmp_path / "phases.json"
    monkeypatch.setattr(calibration, "phases_path", lambda: path)
    return path


def test_a_run_is_folded_in_half_way_and_only_what_it_measured():
    fresh = PhaseTimes("m")
    assert (fresh.startup("mnist"), fresh.ray_start_s, fresh.trial_start_s, fresh.results("x")) == (
        STARTUP_S, RAY_START_S, TRIAL_START_S, RESULTS_S)
    first = fresh.recorded("mnist", "mnist_width", startup=4.0, ray_start=10.0, trial_start=None, results=8.0)
    # a first measurement replaces the fallback outright; one the run did not make keeps it
    assert (first.startup("mnist"), first.ray_start_s, first.trial_start_s, first.results("mnist_width")) == (
        4.0, 10.0, TRIAL_START_S, 8.0)
    assert first.measured == ("ray_start_s",)
    second = first.recorded("mnist", "mnist_width", startup=6.0, ray_start=20.0, trial_start=1.0, results=None)
    assert (second.startup("mnist"), second.ray_start_s, second.trial_start_s, second.results("mnist_width")) == (
        5.0, 15.0, 1.0, 8.0)
    assert second.startup("toy2d") == STARTUP_S and second.results("toy2d") == RESULTS_S  # per dataset, per sweep
    scaled = second.recorded("mnist", "mnist_width", None, None, None, None, probe_factor=0.4)
    assert scaled.probe_factor("mnist_width") == 0.4 and scaled.probe_factor("toy2d") == 1.0
    assert scaled.recorded("mnist", "mnist_width", None, None, None, None, 0.6).probe_factor("mnist_width") == pytest.approx(0.5)


def test_the_cache_is_read_back_for_this_machine_only(phase_cache):
    assert calibration.phase_times("machine A") == PhaseTimes("machine A")  # nothing cached: the fallbacks
    measured = PhaseTimes("machine A").recorded("mnist", "mnist_width --smoke-test", 3.0, 9.0, 0.4, 2.0)
    calibration.save_phase_times(measured)
    assert calibration.phase_times("machine A") == measured
    assert calibration.phase_times("machine B") == PhaseTimes("machine B")  # another machine's figures do not apply
    phase_cache.write_text("{not json")
    assert calibration.phase_times("machine A") == PhaseTimes("machine A")


def test_the_clock_turns_its_marks_into_phases(monkeypatch):
    """Start-up to the printed estimate; from there to the first trial's first row (less that row's
    own work); the median start of the trials that began in a warm worker, after a first trial
    ended; the results phase. Clock values are set here, nothing is timed."""
    monkeypatch.setattr(phase_clock, "_RUNS", [0])
    monkeypatch.setattr(phase_clock, "process_start", lambda: 100.0)
    phase_clock.start_run()
    phase_clock._MARKS.update({"estimate": 107.0, "ray_started": 110.0, "trials": 150.0, "results": 156.0})
    phase_clock.TRIALS.update({
        "a": {"start": 118.0, "first": 122.0, "end": 130.0},  # cold: the first wave
        "b": {"start": 118.5, "first": 123.0, "end": 140.0},
        "c": {"start": 130.2, "first": 130.5, "end": 145.0},  # warm workers, after a's end
        "d": {"start": 140.1, "first": 140.2, "end": 150.0},
        "e": {"start": 145.0, "first": 145.9, "end": 150.0},
    })
    assert phase_clock.measured()["probe_factor"] is None  # the preview expected nothing
    phase_clock.expect_training(106.8)  # the trials trained 8 + 17 + 14.5 + 9.8 + 4.1 s from their first rows
    assert phase_clock.measured() == pytest.approx({"startup": 7.0, "ray_start": 15.0, "trial_start": 0.3, "results": 6.0,
                                                    "probe_factor": 0.5})
    phase_clock.TRIALS["f"] = {"start": 149.0}  # a trial that never ran: no factor from a partial run
    assert phase_clock.measured()["probe_factor"] is None
    del phase_clock.TRIALS["f"]
    del phase_clock._MARKS["ray_started"]  # Ray was up already (the curriculum's later sweeps): not Ray's start
    assert phase_clock.measured()["ray_start"] is None
    phase_clock.start_run()  # a second run in the same process paid no interpreter start-up
    phase_clock._MARKS["estimate"] = phase_clock._MARKS["run"] + 2.0
    assert phase_clock.measured()["startup"] is None and phase_clock.startup_seconds() == pytest.approx(2.0)


@pytest.mark.ray
def test_a_finished_run_records_its_results_phase_for_the_next_estimate(ray_session, tmp_path, phase_cache, capsys):
    from sweeps import mnist_width

    assert mnist_width.main(["--smoke-test", "--storage-path", str(tmp_path)]) == 0
    cached = calibration.phase_times()
    assert cached.results_s["mnist_width --smoke-test"] > 0 and "mnist_width" not in cached.results_s
    capsys.readouterr()
    assert mnist_width.main(["--smoke-test", "--dry-run", "--storage-path", str(tmp_path)]) == 0
    results = f"results {cached.results_s['mnist_width --smoke-test']:.0f} s"
    assert results in capsys.readouterr().out


def test_a_sweep_says_it_is_starting_before_its_heavy_imports(tmp_path):
    """The first line comes before torch, Ray and the data are loaded (seconds of silence before)."""
    proc = subprocess.run([sys.executable, "-m", "sweeps.mnist_width", "--set", "activation=swish", "--storage-path",
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stdout.splitlines()[0] == "python -m sweeps.mnist_width: starting (importing torch and Ray, reading the data) ..."


def test_a_process_a_shell_execd_after_other_work_starts_its_clock_at_the_entry(monkeypatch):
    """`bash -c "pip install -e . && python -m sweeps.mnist_width"` runs python in the shell's own
    process: its start is the shell's, before pip. The run's start-up must not count pip's minutes
    (they would go into the machine's phase cache and every later estimate)."""
    import psutil

    from sweeps.runner import entry, phase_clock

    monkeypatch.setattr(entry, "IMPORTED_AT", 1_000_000.0)
    monkeypatch.setattr(psutil.Process, "create_time", lambda self: 1_000_000.0 - 120)  # the shell ran pip for 2 min
    assert phase_clock.process_start() == 1_000_000.0
    monkeypatch.setattr(psutil.Process, "create_time", lambda self: 1_000_000.0 - 0.1)  # python started it
    assert phase_clock.process_start() == 1_000_000.0 - 0.1
