"""The sweep's description stored in its Parquet files (analysis.results.sweep_meta.SweepMeta):
written by the runner, read back whole, each default defined once, and files written before it
(the headline under the key `primary`) still read."""
from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.results.claims import Reference
from analysis.results.sweep_meta import Posthoc, SweepMeta
from analysis.results.tables import META_KEY, read_parquet, write_parquet
from models.registry import Plugin
from sweeps.runner.catalog import all_sweeps
from sweeps.runner.cli import parse_flags
from sweeps.runner.finish import sweep_meta
from sweeps.runner.plan import make_plan
from trainables import metrics as M

TABLE = pd.DataFrame({M.TRIAL_ID: ["a", "b"], M.EPOCH: [1, 2]})


def write_raw(path, raw: dict) -> None:
    """A Parquet file whose metadata is `raw` as JSON, as an older sweeplab wrote it."""
    table = pa.Table.from_pandas(TABLE, preserve_index=False)
    pq.write_table(table.replace_schema_metadata({**table.schema.metadata, META_KEY: json.dumps(raw).encode()}), path)


def test_every_field_round_trips_through_a_parquet_file(tmp_path):
    meta = SweepMeta(
        sweep="mnist_width", title="MNIST: test accuracy vs hidden width", description="One paragraph.",
        axes=["width", "lr"], x="width", metric=M.VAL_ACC, mode="max", headline=M.TIME_TOTAL_S, log_axes=["lr"],
        notes=["GPU half skipped: no GPU"], unit="step", family="sequence", source="LeCun et al. 1998",
        references=[Reference("test accuracy of the widest", M.TEST_ACC, 0.98, where={"width": 800}, epoch=5,
                              tolerance=0.01, differs="5k sample")],
        data_axes={"toy_set": "kind"}, posthoc=[Posthoc("interpolate", trials="all", options={"along": "lr"},
                                                        smoke={"points": 3})],
        command="python -m sweeps.mnist_width --smoke-test", dataset="mnist", data_dir="/data",
        loader_args={"n_train": 5000}, data_read=["mnist: 5000 training images"],
        plugins=[Plugin("my_models", "/lab/my_models.py")], study="interpolate", options={"along": "lr"})
    path = write_parquet(TABLE, tmp_path / "t.parquet", meta)
    table, back = read_parquet(path)
    assert back == meta and table.equals(TABLE)
    assert back.axes == ("width", "lr") and back.references[0].where == {"width": 800}
    assert back.posthoc[0].name == "interpolate" and back.plugins == (Plugin("my_models", "/lab/my_models.py"),)
    assert SweepMeta.from_json(meta.to_json()) == meta
    assert "primary" not in json.loads(pq.read_schema(path).metadata[META_KEY])  # written under its own name


@pytest.mark.parametrize("name", sorted(all_sweeps()))
def test_what_the_runner_writes_for_every_sweep_reads_back_equal(name, tmp_path):
    sweep = all_sweeps()[name]
    plan = make_plan(sweep, parse_flags(name, "", []), gpu_available=False)
    facts = {"command": f"python -m sweeps.{name}", "dataset": sweep.dataset, "data_dir": "/data",
             "loader_args": dict(plan.data), "data_read": ["read"], "plugins": [["m", "/m.py"]]}
    meta = sweep_meta(plan, facts)
    _, back = read_parquet(write_parquet(TABLE, tmp_path / "t.parquet", meta))
    assert back == meta
    assert (back.sweep, back.metric, back.mode, back.headline) == (sweep.name, sweep.metric, sweep.mode, sweep.headline)
    assert back.references == tuple(sweep.references) and back.posthoc == tuple(sweep.posthoc)
    assert back.plugins == (Plugin("m", "/m.py"),) and back.command == f"python -m sweeps.{name}"


def test_a_file_written_with_the_legacy_primary_key_reads_it_as_the_headline(tmp_path):
    write_raw(tmp_path / "old.parquet", {"sweep": "mnist_cpu_gpu", "axes": ["model_size"], "metric": "val_loss",
                                         "mode": "min", "primary": M.TIME_TOTAL_S})
    _, meta = read_parquet(tmp_path / "old.parquet")
    assert meta.headline == M.TIME_TOTAL_S and meta.axes == ("model_size",) and meta.sweep == "mnist_cpu_gpu"
    # both keys (never written, but possible): the current one wins
    assert SweepMeta.from_dict({"primary": M.TEST_ACC, "headline": M.VAL_ACC}).headline == M.VAL_ACC


def test_missing_unknown_and_null_keys_take_the_defaults(tmp_path):
    write_raw(tmp_path / "sparse.parquet", {"sweep": "s", "x": None, "title": None, "from_the_future": 1})
    _, meta = read_parquet(tmp_path / "sparse.parquet")
    assert meta == SweepMeta(sweep="s")
    assert (meta.metric, meta.mode, meta.headline, meta.unit, meta.title, meta.axes) == \
        (M.VAL_LOSS, "min", M.TEST_ACC, "epoch", "", ())
    write_parquet(TABLE, tmp_path / "none.parquet")  # predictions, boundaries: no description at all
    assert read_parquet(tmp_path / "none.parquet")[1] == SweepMeta()


def test_a_missing_mode_follows_the_metric():
    assert SweepMeta(metric=M.VAL_ACC).mode == "max" and SweepMeta(metric=M.VAL_LOSS).mode == "min"
    assert SweepMeta(metric="my_score").mode == "min" and SweepMeta(metric=M.VAL_ACC, mode="min").mode == "min"
    assert SweepMeta.from_dict({"metric": M.VAL_ACC}).mode == "max"
