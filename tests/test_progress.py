"""The console display of a running sweep (sweeps.runner.progress), driven by hand with a fake
clock: how many lines it prints, its counters after a resume, and its wording for step-based runs."""
from __future__ import annotations

import pickle
import re
from types import SimpleNamespace

from sweeps.runner.progress import ProgressLine
from trainables import metrics as M


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def trial(i: int, status: str = "RUNNING", **config):
    return SimpleNamespace(trial_id=f"t{i}", config={"width": 10 * i, **config}, status=status, last_result=None,
                           path=f"/tmp/t{i}")


def row(epoch: int, step: int | None = None) -> dict:
    return {M.EPOCH: epoch, M.STEP: epoch * 10 if step is None else step, M.TRAIN_LOSS: 0.5, M.VAL_LOSS: 0.4,
            M.VAL_ACC: 0.9, M.EPOCH_TIME_S: 0.25, M.DEVICE: "cpu"}


def lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_a_trial_prints_at_most_one_line_every_few_seconds_and_always_its_last(capsys):
    """Two trials reporting 200 epochs each, one every 0.1 s (the palindrome sweep's pace): a
    handful of lines each, not 400, every trial's final line, and overall lines that count
    trials done and give the time left."""
    clock = Clock()
    line = ProgressLine(["width"], max_epochs=200, total=2, every=5.0, overall_every=10.0, clock=clock)
    trials = [trial(1), trial(2)]
    line.on_step_begin(0, trials)
    clock.now += 10.0  # Tune's set-up: the first results come 10 s after the start, untrained
    for t in trials:
        line.on_trial_result(0, trials, t, row(0))
    for epoch in range(1, 201):
        clock.now += 0.1
        for t in trials:
            line.on_trial_result(0, trials, t, row(epoch))
    for t in trials:
        t.last_result = row(200)
        line.on_trial_complete(0, trials, t)
    out = lines(capsys)
    for width in ("width=10", "width=20"):
        shown = [x for x in out if width in x and "epoch" in x and "finished" not in x]
        assert 1 < len(shown) <= 20 / 5 + 2, out  # the untrained row, then 20 s of results: one per 5 s
        times = [float(re.match(r"\[\s*([\d.]+)s\]", x).group(1)) for x in shown]
        assert all(b - a >= 5.0 for a, b in zip(times, times[1:])), shown
        assert any(re.search(rf"{width} +finished after 200 epochs .*\(\d/2 trials done\)$", x) for x in out), out
    overall = [x for x in out if "overall:" in x]
    assert 1 <= len(overall) <= 20 / 10 + 1, out
    assert re.search(r"overall: 0/2 trials done, \d+% trained, about \d+ s left$", overall[0]), overall
    assert float(re.match(r"\[\s*([\d.]+)s\]", overall[0]).group(1)) < 10.5, overall  # once anything has trained
    # paced from the first result, not the start (the set-up's 10 s trained nothing): at 20.1 s, 9.9 s are left
    assert 8 <= int(re.search(r"about (\d+) s left", overall[-1]).group(1)) <= 12, overall
    assert out[-1].endswith("(2/2 trials done)")


def test_after_a_resume_times_count_from_this_start_and_trials_done_before_are_counted(capsys):
    """Tune restores the callback pickled when the run began: its clock restarts at this
    invocation's start, and the 2 trials done before the resume count toward the 5."""
    clock = Clock()
    line = ProgressLine(["width"], max_epochs=3, total=5, clock=clock)
    restored = pickle.loads(pickle.dumps(line))  # Tune pickles it with the experiment's state
    restored.clock = clock  # (a fake clock does not survive pickling into the same object)
    clock.now += 3600.0  # the resume, an hour later
    restored.setup()
    trials = [trial(i, "TERMINATED" if i < 2 else "PENDING") for i in range(5)]
    restored.on_step_begin(0, trials)
    clock.now += 2.0
    for t in trials[2:]:
        t.last_result = row(3)
        restored.on_trial_complete(0, trials, t)
    out = lines(capsys)
    assert out[0] == "[   0.0s] resumed: 2/5 trials were done before; times count from this start", out
    assert [re.search(r"\((\d)/5 trials done\)", x).group(1) for x in out[1:]] == ["3", "4", "5"], out
    assert all(x.startswith("[   2.0s]") for x in out[1:]), out


def test_a_run_in_steps_says_time_per_step_not_per_epoch(capsys):
    """Rows every 10 steps taking 0.25 s: 25 ms per step, and no epoch wording; the untrained
    model's evaluation (step 0) has no time per step."""
    clock = Clock()
    line = ProgressLine(["width"], max_epochs=1, total=1, max_steps=100, every=5.0, overall_every=1e9, clock=clock)
    t = trial(1, eval_every=10)
    line.on_trial_result(0, [t], t, row(0, step=0))
    assert capsys.readouterr().out.rstrip().endswith("val_acc 0.900  before training on cpu")
    clock.now += 6.0
    line.on_trial_result(0, [t], t, row(0, step=10))
    clock.now += 6.0
    line.on_trial_result(0, [t], t, row(0, step=20))
    t.last_result = row(0, step=100)
    line.on_trial_complete(0, [t], t)
    out = lines(capsys)
    assert [re.search(r"step +(\d+)/100 .* ([\d.]+) ms/step on cpu$", x).groups() for x in out[:2]] == [
        ("10", "25.0"), ("20", "25.0")], out
    assert "finished after 100 steps" in out[2] and not any("epoch" in x for x in out), out
