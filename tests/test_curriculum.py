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
    # cifar_mlp's data is absent: asked for by --only, the curriculum says so and exits 1 after the rest ran
    assert curriculum.main(["--smoke-test", "--max-epochs", "1", "--only", "mnist_width,cifar_mlp",
                            "--storage-path", storage]) == 1
    root = tmp_path / "results" / "curriculum"
    first = (root / "mnist_width" / "results.parquet").stat().st_mtime_ns
    state = json.loads((root / "state.json").read_text())["sweeps"]
    assert state["mnist_width"]["status"] == "finished" and state["cifar_mlp"]["status"] == "skipped"
    assert state["cifar_mlp"]["data"] == "absent"
    assert "--only asked for cifar_mlp (data absent), which could not run" in capsys.readouterr().err

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
    assert 'href="toy2d/report.html"' in (root / "index.html").read_text()  # the index as a page, linking pages

    text = record.read_text()  # the reproduction record: one row per sweep run, totals that add up
    totals = read_record(text)
    assert set(totals.rows) == {"mnist_width", "toy2d"} and totals.sweeps == 2
    assert totals.reproduced == sum(r for r, _, _ in totals.rows.values())
    assert totals.checked == sum(c for _, c, _ in totals.rows.values())
    assert totals.not_checked == sum(n for _, _, n in totals.rows.values())
    assert "the embedded 5,000-image MNIST sample" in text  # a stand-in data set says so
    assert "- `cifar_mlp`: " in text and "### toy2d" in text and "CPUs (" in text


def corrupt_dbpedia(folder):
    """DBpedia's two CSVs, there but unreadable: a class index that is not a number."""
    folder.mkdir()
    for name in ("train_medium.csv", "test_medium.csv"):
        (folder / name).write_text("one,a paragraph\n2,another paragraph\n")
    return folder


def test_data_absent_and_data_unreadable_are_told_apart(tmp_path):
    from analysis.results.curriculum_index import ABSENT, UNREADABLE
    from sweeps.runner.catalog import all_sweeps

    sweep = all_sweeps()["text_models"]
    kind, why = curriculum.data_problem(sweep, str(tmp_path))
    assert kind == ABSENT and "train_medium.csv and test_medium.csv are not in" in why
    kind, why = curriculum.data_problem(sweep, str(corrupt_dbpedia(tmp_path / "bad")))
    assert kind == UNREADABLE and why.startswith(str(tmp_path / "bad" / "train_medium.csv"))
    assert "class index 'one' is not a non-negative integer" in why and "\n" not in why


def test_a_sweep_named_in_only_that_could_not_run_exits_non_zero(tmp_path, capsys):
    """Asked for by --only: unreadable data is an error (exit 1, one line); the same skip in a
    curriculum of every sweep is not. No Ray starts: nothing could run."""
    data = str(corrupt_dbpedia(tmp_path / "data"))
    assert curriculum.main(["--only", "text_models", "--data-dir", data, "--storage-path", str(tmp_path / "a")]) == 1
    out, err = capsys.readouterr()
    assert "text_models: skipped, data unreadable: " in out and "train_medium.csv: 1 bad row(s)" in out
    assert err.strip().splitlines() == [f"{curriculum.PROG}: error: --only asked for text_models (data unreadable), "
                                        "which could not run"]
    index = (tmp_path / "a" / "curriculum" / "index.md").read_text()
    assert "(1 skipped: 1 data unreadable)" in index and "| text_models | skipped: data unreadable: " in index

    from sweeps.runner.catalog import all_sweeps

    others = ",".join(n for n in all_sweeps() if n != "text_models")
    assert curriculum.main(["--skip", others, "--data-dir", data, "--storage-path", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().err == ""


def test_not_run_names_what_only_asked_for_and_did_not_get():
    state = {"toy2d": {"status": "finished"}, "cifar_mlp": {"status": "skipped", "data": "absent", "why": "x"},
             "text_models": {"status": "failed"}, "mnist_width": {"status": "skipped", "data": "absent"}}
    assert curriculum.not_run("toy2d,cifar_mlp,text_models", state) == ["cifar_mlp (data absent)", "text_models (failed)"]
    assert curriculum.not_run(None, state) == []
