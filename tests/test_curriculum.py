"""The curriculum: two small sweeps end to end into one index with the reference scorecard, then
--resume adds a sweep without rerunning the finished one; unknown names are bad input."""
import json

import pytest

from analysis.results.reproduction import read_record
from sweeps import curriculum


def test_unknown_sweep_is_one_line_and_exit_2(tmp_path, capsys):
    assert curriculum.main(["--only", "mnist_widht", "--storage-path", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--only: unknown sweep 'mnist_widht'; allowed: " in err[0] and "mnist_width" in err[0]
    assert not (tmp_path / "curriculum").exists()


@pytest.mark.ray
def test_smoke_curriculum_then_resume_keeps_what_finished(ray_session, tmp_path, capsys):
    storage = str(tmp_path / "results")
    assert curriculum.main(["--smoke-test", "--max-epochs", "1", "--only", "mnist_width,cifar_mlp",
                            "--storage-path", storage]) == 0
    root = tmp_path / "results" / "curriculum"
    first = (root / "mnist_width" / "results.parquet").stat().st_mtime_ns
    state = json.loads((root / "state.json").read_text())["sweeps"]
    assert state["mnist_width"]["status"] == "finished" and state["cifar_mlp"]["status"] == "skipped"
    capsys.readouterr()

    record = tmp_path / "REPRODUCTION.md"
    assert curriculum.main(["--resume", "--only", "mnist_width,toy2d", "--storage-path", storage,
                            "--record", str(record)]) == 0
    out = capsys.readouterr().out
    assert "mnist_width: finished before, kept" in out
    assert (root / "mnist_width" / "results.parquet").stat().st_mtime_ns == first  # not rerun
    assert (root / "toy2d" / "report.md").is_file()  # resumed with the first run's flags: smoke, 1 epoch
    index = (root / "index.md").read_text()
    assert "| mnist_width | finished |" in index and "| toy2d | finished |" in index
    assert "reference values reproduced" in index and "### toy2d" in index

    text = record.read_text()  # the reproduction record: one row per sweep run, totals that add up
    totals = read_record(text)
    assert set(totals.rows) == {"mnist_width", "toy2d"} and totals.sweeps == 2
    assert totals.reproduced == sum(r for r, _, _ in totals.rows.values())
    assert totals.checked == sum(c for _, c, _ in totals.rows.values())
    assert totals.not_checked == sum(n for _, _, n in totals.rows.values())
    assert "the embedded 5,000-image MNIST sample" in text  # a stand-in data set says so
    assert "- `cifar_mlp`: " in text and "### toy2d" in text and "CPUs (" in text
