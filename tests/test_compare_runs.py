"""Looking at runs without Ray: `python -m analysis.compare` (numbers against scipy's Welch test,
the refusals, the plot), `python -m analysis.export --format csv` (read back equal to the Parquet)
and `python -m sweeps --runs` (statuses from the sessions in each run's record). The runs are
results folders in the real format (write_parquet with the sweep's SweepMeta), with values chosen
here so that every number can be computed by hand."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from scipy import stats

from analysis.results.claims import Reference
from analysis.results.difference import NO_REPEATS, difference
from analysis.results.numbers import fmt_number
from analysis.results.sweep_meta import SweepMeta
from analysis.results.tables import RESULTS_FILE, TRIALS_FILE, read_parquet, write_parquet
from sweeps.runner.run_record import RECORD_FILE
from trainables import metrics as M

# width=200 is the configuration both runs share; A also has 50, B also has 400.
ACC_A = {50: [0.80, 0.82, 0.81], 200: [0.90, 0.91, 0.89]}
ACC_B = {200: [0.85, 0.84], 400: [0.95, 0.96]}
EPOCH_S = {"a": 0.40, "b": 0.10}  # B trains 4x faster per epoch
STARTED = psutil.Process().create_time()  # this process's start, as a sweep records its session's start
NEAR_200 = Reference("test accuracy of width 200", M.TEST_ACC, 0.90, where={"width": 200}, tolerance=0.02)


def write_run(folder: Path, accuracies: dict[int, list[float]], epoch_s: float, sweep: str = "mnist_width",
              references=(NEAR_200,)) -> Path:
    """A run of `sweep` over width with seeds 0..n-1: epochs 0 (untrained), 1 and 2, whose last
    row has the given test accuracy; every trained epoch takes `epoch_s`."""
    rows = []
    for width, finals in accuracies.items():
        for seed, acc in enumerate(finals):
            trial = f"w{width}_s{seed}"
            for epoch in range(3):
                rows.append({M.TRIAL_ID: trial, "width": width, "seed": seed, M.EPOCH: epoch, M.STEP: 10 * epoch,
                             M.TEST_ACC: acc if epoch == 2 else 0.1 * (epoch + 1), M.VAL_LOSS: 1.0 - acc + 0.01 * seed,
                             M.EPOCH_TIME_S: epoch_s if epoch else np.nan, M.DEVICE: "cpu"})
    results = pd.DataFrame(rows)
    trials = results.groupby(M.TRIAL_ID, sort=False).tail(1).assign(status="TERMINATED", epochs=2)
    meta = SweepMeta(sweep=sweep, title=sweep, axes=("width", "seed"), metric=M.VAL_LOSS, headline=M.TEST_ACC,
                     references=references, command=f"python -m sweeps.{sweep}")
    folder.mkdir(parents=True)
    write_parquet(results, folder / RESULTS_FILE, meta)
    write_parquet(trials.reset_index(drop=True), folder / TRIALS_FILE, meta)
    return folder


def table_rows(markdown: str, first_header: str) -> list[dict[str, str]]:
    """The rows of the pipe table whose first column is `first_header`, as dicts."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    body = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        body.append(dict(zip(header, (c.strip() for c in line.strip("|").split("|")))))
    return body


@pytest.fixture
def two_runs(tmp_path):
    return write_run(tmp_path / "a", ACC_A, EPOCH_S["a"]), write_run(tmp_path / "b", ACC_B, EPOCH_S["b"])


def test_difference_is_welchs_interval_and_test():
    a, b = [0.90, 0.91, 0.89], [0.85, 0.84]
    d = difference(a, b)
    welch = stats.ttest_ind(b, a, equal_var=False)
    low, high = welch.confidence_interval(0.95)
    assert d.diff == pytest.approx(np.mean(b) - np.mean(a))
    assert (d.low, d.high, d.p) == pytest.approx((low, high, welch.pvalue))
    one = difference([0.9], [0.8])
    assert one.diff == pytest.approx(-0.1) and one.note == NO_REPEATS and np.isnan(one.low) and np.isnan(one.p)


def test_compare_writes_the_shared_configurations_against_a_hand_computation(two_runs, capsys):
    from analysis import compare

    a, b = two_runs
    assert compare.main([str(a), str(b)]) == 0
    path, page = map(Path, capsys.readouterr().out.split())
    assert path == b.parent / "compare-a-vs-b" / "compare.md" and page == path.with_suffix(".html")
    html = page.read_text()
    assert '<td class="reproduced">' in html and '<td class="not-reproduced">' in html  # verdict A, verdict B
    assert "data:image/png;base64," in html  # the plot travels inside the page
    text = path.read_text()
    rows = table_rows(text, "width")
    assert {r["width"] for r in rows} == {"200"}  # 50 only in A, 400 only in B
    acc = next(r for r in rows if r["metric"] == M.TEST_ACC)
    welch = stats.ttest_ind(ACC_B[200], ACC_A[200], equal_var=False)
    low, high = welch.confidence_interval(0.95)
    assert acc["B - A"] == fmt_number(np.mean(ACC_B[200]) - np.mean(ACC_A[200]), sign=True) == "-0.0550"
    assert acc["95% interval"] == f"[{fmt_number(low, sign=True)}, {fmt_number(high, sign=True)}]"
    assert acc["Welch p"] == f"{welch.pvalue:.3g}"
    assert acc["better"] == ("A" if high < 0 else "neither (0 in the interval)")
    assert acc["A"].startswith("0.900 ± ") and acc["A"].endswith("(n=3)") and acc["B"].endswith("(n=2)")
    times = table_rows(text.split("## Time per epoch")[1], "width")
    assert times == [{"width": "200", "A s/epoch": "0.400", "B s/epoch": "0.100", "B / A": "0.25x"}]
    verdicts = table_rows(text, "claim")
    assert [(v["verdict A"], v["verdict B"], v["changed"]) for v in verdicts] == [("reproduced", "not reproduced", "yes")]
    assert "1 of 1 reference(s) changed verdict" in text


def test_one_seed_each_gives_the_difference_without_a_test(tmp_path, capsys):
    from analysis import compare

    a = write_run(tmp_path / "a", {200: [0.90]}, 0.2)
    b = write_run(tmp_path / "b", {200: [0.86]}, 0.2)
    assert compare.main([str(a), str(b), "--out", str(tmp_path / "out")]) == 0
    acc = next(r for r in table_rows((tmp_path / "out" / "compare.md").read_text(), "width") if r["metric"] == M.TEST_ACC)
    assert (acc["B - A"], acc["95% interval"], acc["Welch p"], acc["better"]) == ("-0.0400", NO_REPEATS, "", "")


def test_the_plot_is_a_png_without_problems(two_runs, tmp_path):
    from PIL import Image

    from analysis.results.run_compare import compare_runs

    path = compare_runs(*two_runs, out=tmp_path / "out")
    png = path.parent / "compare.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as image:
        assert image.width > 200 and image.height > 200
    assert json.loads((path.parent / "plots.json").read_text()) == {"compare.png": {"problems": []}}
    assert "![test_acc, A vs B](compare.png)" in path.read_text()


@pytest.mark.parametrize("case", ["different sweeps", "nothing shared", "not a run"])
def test_refusals_are_one_line(tmp_path, capsys, case):
    from analysis import compare

    a = write_run(tmp_path / "a", ACC_A, 0.2)
    if case == "different sweeps":
        b, expected = write_run(tmp_path / "b", ACC_A, 0.2, sweep="mnist_depth"), "a mnist_width run and"
    elif case == "nothing shared":
        b, expected = write_run(tmp_path / "b", {400: [0.9]}, 0.2), "share no configuration: A has width=50; width=200"
    else:
        b, expected = tmp_path / "b", "is not a run"
        b.mkdir()
    assert compare.main([str(a), str(b)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m analysis.compare: error: ") and expected in err[0], err
    assert "allowed:" in err[0] and not captured.out and not list(tmp_path.glob("compare-*"))


def test_export_csv_reads_back_equal_to_the_parquet(two_runs, capsys):
    from analysis import export

    run = two_runs[0]
    study = pd.DataFrame({M.TRIAL_ID: ["w200_s0", "w200_s1"], "eps": [0.0, 0.1], M.FGSM_ACC: [0.9, 0.123456789]})
    (run / "posthoc").mkdir()
    write_parquet(study, run / "posthoc" / "fgsm.parquet")
    assert export.main([str(run), "--format", "csv"]) == 0
    written = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in written) == ["fgsm.csv", "results.csv", "trials.csv"]
    for name, parquet in (("results", RESULTS_FILE), ("trials", TRIALS_FILE), ("fgsm", "posthoc/fgsm.parquet")):
        back = pd.read_csv(run / "csv" / f"{name}.csv", float_precision="round_trip")
        pd.testing.assert_frame_equal(back, read_parquet(run / parquet)[0], check_dtype=False)


def test_export_refuses_an_unknown_format_in_one_line(two_runs, capsys):
    from analysis import export

    assert export.main([str(two_runs[0]), "--format", "xlsx"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "python -m analysis.export: error: unknown format 'xlsx'; allowed: csv"]
    assert not (two_runs[0] / "csv").exists()


def record(folder: Path, *sessions: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RECORD_FILE).write_text(json.dumps({"sweep": "mnist_width", "argv": [], "data": {}, "sessions": sessions}))


def test_runs_lists_each_runs_status_from_its_record(tmp_path, capsys):
    from sweeps.__main__ import main

    host, now = socket.gethostname(), time.time()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    root = tmp_path / "results"
    record(write_run(root / "done", ACC_A, 0.2), {"started": now - 100, "pid": 1, "host": host, "ended": now - 40,
                                                   "status": "finished"})
    record(root / "stopped", {"started": now - 30, "pid": 1, "host": host, "ended": now - 25, "status": "interrupted"})
    record(root / "killed", {"started": now - 20, "pid": int(gone.stdout), "host": host})
    record(root / "live", {"started": STARTED, "pid": os.getpid(), "host": host})
    write_run(root / "old", ACC_B, 0.2)  # written before sessions were kept: its trials all ended
    assert main(["--runs", "--storage-path", str(root)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["sweep", "name", "status", "trials", "started", "wall", "time", "headline", "scorecard"]
    runs = {line.split()[1]: line for line in lines[1:]}
    assert {name: line.split()[2] for name, line in runs.items()} == {
        "done": "finished", "stopped": "interrupted", "killed": "interrupted", "live": "running", "old": "finished"}
    # the best trial by val_loss (width 200, seed 0) and its test accuracy; the reference at width 200 holds
    assert "test_acc 0.900 (width=200 seed=0)" in runs["done"] and runs["done"].rstrip().endswith("1 of 1")
    assert " 6 " in runs["done"] and " 60 s " in runs["done"]  # 6 trials; one session of 60 s


def test_runs_refuses_a_uri_or_a_missing_root_in_one_line(tmp_path, monkeypatch, capsys):
    from sweeps.__main__ import main

    assert main(["--runs", "--storage-path", "s3://bucket/sweeps"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a URI" in err[0] and "allowed: a local folder" in err[0]
    assert main(["--runs", "--storage-path", str(tmp_path / "typo")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "typo is not a folder; allowed: a results root" in err[0]
    monkeypatch.chdir(tmp_path)  # the default root, before any sweep ran here: nothing to list, no error
    assert main(["--runs"]) == 0
    assert capsys.readouterr().out.startswith("no runs under results/ yet")


def test_a_session_opens_as_running_and_closes_with_its_status(tmp_path):
    from sweeps.runner.past_runs import past_run
    from sweeps.runner.run_record import end_session, read_record, start_session, write_record

    assert not start_session(tmp_path / "no_record", started=time.time())  # a run from before records
    run = tmp_path / "run"
    write_record(run, "mnist_width", ["--repeats", "2"], {})
    assert start_session(run, started=STARTED)
    assert past_run(run, tmp_path).status == "running"  # this process: alive
    end_session(run, "interrupted")
    record = read_record(run)
    assert record["argv"] == ["--repeats", "2"] and len(record["sessions"]) == 1
    assert record["sessions"][0]["pid"] == os.getpid() and record["sessions"][0]["status"] == "interrupted"
    assert past_run(run, tmp_path).status == "interrupted"
