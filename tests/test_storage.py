"""Results on storage every cluster node reaches (--storage-path s3://, gs://, file://, or a shared
mount), read and written through pyarrow's filesystems: pyarrow's in-memory filesystem stands in
for a bucket (no cloud), and a file:// URI and a plain folder for a shared mount."""
from __future__ import annotations

import argparse

import pyarrow.fs as pafs
import pytest
import torch

from analysis.results.arguments import UsageError
from analysis.results.collect import collect
from analysis.results.storage import Store, pull, push, write_atomically
from analysis.results.sweep_meta import SweepMeta
from analysis.results.tables import read_parquet
from sweeps.runner.cli import build_parser
from sweeps.runner.locations import new_place
from sweeps.toy2d import SWEEP
from tests.test_collect import write_trial
from trainables import metrics as M


@pytest.fixture
def bucket(tmp_path):
    """A finished run's trial folders in an in-memory pyarrow filesystem, as Tune leaves them in a bucket."""
    run = tmp_path / "run"
    write_trial(run, "a_00000", {"width": 10}, [1, 2, 3])
    write_trial(run, "a_00001", {"width": 20}, [1, 2], done=False, error=True)
    for n in range(3):  # Tune keeps the last few; only the newest is pulled
        (run / "trial_a_00000" / f"checkpoint_00000{n}").mkdir()
        torch.save({"epoch": n}, run / "trial_a_00000" / f"checkpoint_00000{n}" / "checkpoint.pt")
    fs = pafs._MockFileSystem()
    pafs.copy_files(str(run), "bucket/sweeps/toy2d", destination_filesystem=fs)
    return Store(fs, "bucket/sweeps", "mock://bucket/sweeps")


def test_collection_tables_and_report_go_through_the_filesystem(bucket, tmp_path):
    staging = tmp_path / "staging"
    pulled = pull(bucket, "toy2d", staging)
    assert "trial_a_00000/checkpoint_000002/checkpoint.pt" in pulled
    assert not any("checkpoint_000001" in p or "checkpoint_000000" in p for p in pulled)
    assert {"trial_a_00001/error.txt", "trial_a_00000/result.json"} <= set(pulled)

    results, trials = collect(staging, SweepMeta(sweep="toy2d"))
    (staging / "plots").mkdir()
    (staging / "plots" / "accuracy.png").write_bytes(b"png")
    (staging / "report.md").write_text("# report")
    (staging / "report.html").write_text("<h1>report</h1>")
    sent = push(staging, bucket, "toy2d")
    assert set(sent) == {"results.parquet", "trials.parquet", "report.md", "report.html", "plots/accuracy.png"}

    remote, meta = read_parquet(bucket.path("toy2d", "results.parquet"), filesystem=bucket.fs)
    assert meta == SweepMeta(sweep="toy2d") and remote[[M.TRIAL_ID, M.EPOCH]].values.tolist() == \
        results[[M.TRIAL_ID, M.EPOCH]].values.tolist()
    listing = bucket.fs.get_file_info(pafs.FileSelector(bucket.path("toy2d"), recursive=True))
    assert not [i.path for i in listing if i.path.endswith(".tmp")]
    assert bucket.folders() == ["toy2d"]
    errors = trials.set_index(M.TRIAL_ID)["error_file"]
    assert errors.isna()["a_00000"] and errors["a_00001"] == "trial_a_00001/error.txt"


def test_atomic_writes_on_any_filesystem_remove_a_crashed_writers_temp(tmp_path):
    fs = pafs.SubTreeFileSystem(str(tmp_path), pafs.LocalFileSystem())
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / ".report.md.4242.tmp").write_text("half a rep")  # a writer that died
    write_atomically("run/report.md", lambda out: out.write(b"# whole"), fs)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["report.md"]
    assert (tmp_path / "run" / "report.md").read_text() == "# whole"


def test_a_file_uri_numbers_runs_like_a_folder(tmp_path):
    (tmp_path / "toy2d").mkdir()
    (tmp_path / "toy2d-2").mkdir()
    place = new_place(SWEEP, argparse.Namespace(storage_path=f"file://{tmp_path}", name=None))
    assert place.name == "toy2d-3" and place.tune_path == f"file://{tmp_path}/toy2d-3"
    assert place.store is not None and not place.local.is_relative_to(tmp_path)  # tables are made in staging
    local = new_place(SWEEP, argparse.Namespace(storage_path=str(tmp_path), name=None))
    assert local.store is None and local.local == tmp_path / "toy2d-3"


@pytest.mark.parametrize("value", ["ftp://host/results", "s4://bucket"])
def test_unknown_storage_scheme_is_one_line_before_ray(value):
    with pytest.raises(UsageError) as error:
        build_parser("python -m sweeps.toy2d", "").parse_args(["--storage-path", value])
    assert "\n" not in str(error.value) and "s3://" in str(error.value) and value.split(":")[0] in str(error.value)


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_max_failures_must_be_a_non_negative_integer(value):
    with pytest.raises(UsageError, match="--max-failures"):
        build_parser("python -m sweeps.toy2d", "").parse_args(["--max-failures", value])
    assert build_parser("p", "").parse_args([]).max_failures == 3


def test_resume_refuses_tune_state_cut_short_by_a_killed_driver(tmp_path):
    from sweeps.runner.locations import check_tune_state

    (tmp_path / "experiment_state-2026-12-02_16-41-02.json").write_text('{"trial_data": []}')
    (tmp_path / "basic-variant-state-2026-12-02_16-41-02.json").write_bytes(b"x")
    check_tune_state(tmp_path)  # whole files: resumable
    (tmp_path / "basic-variant-state-2026-12-02_16-41-02.json").write_bytes(b"")
    with pytest.raises(UsageError, match="basic-variant-state-2026-12-02_16-41-02.json is empty") as error:
        check_tune_state(tmp_path)
    assert "\n" not in str(error.value) and "without --resume" in str(error.value)
