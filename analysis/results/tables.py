"""Parquet I/O for sweep results: atomic writes and the sweep's description (a SweepMeta) stored
in the schema, so a report can be rebuilt from the Parquet files alone."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from analysis.results.storage import write_atomically
from analysis.results.sweep_meta import SweepMeta

RESULTS_FILE = "results.parquet"  # one row per trial x epoch
TRIALS_FILE = "trials.parquet"  # one row per trial
PREDICTIONS_FILE = "predictions.parquet"  # sample test predictions of the best trial
SAMPLES_FILE = "samples.parquet"  # text sampled from each trained language model
META_KEY = b"sweeplab"


def write_parquet(df: pd.DataFrame, path: str | Path, meta: SweepMeta | None = None,
                  filesystem: pafs.FileSystem | None = None) -> Path:
    """Write `df` to `path` (on `filesystem`, default local) atomically: temp file in the same
    folder, then rename; a temp file an earlier crash left there is removed."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    if meta is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: meta.to_json().encode()})
    return Path(write_atomically(path, lambda out: pq.write_table(table, out), filesystem))


def read_parquet(path: str | Path, filesystem: pafs.FileSystem | None = None) -> tuple[pd.DataFrame, SweepMeta]:
    """The table and the sweep's description stored with it (every field at its default if none)."""
    table = pq.read_table(str(path), filesystem=filesystem)
    raw = (table.schema.metadata or {}).get(META_KEY)
    return table.to_pandas(), (SweepMeta.from_json(raw) if raw else SweepMeta())
