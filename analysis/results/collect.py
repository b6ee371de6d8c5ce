"""Ray's trial folders -> tidy Parquet: results.parquet (trial x epoch) and trials.parquet.

The only reader of Ray's on-disk layout: each trial folder holds params.json (its config)
and result.json (one JSON object per reported epoch, appended; a restored trial may repeat
epochs, so rows are keyed by (trial, epoch) and the latest wins).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.results.sweep_meta import SweepMeta
from analysis.results.tables import RESULTS_FILE, TRIALS_FILE, write_parquet
from trainables import metrics as M
from trainables.population_rows import unpack

ERROR_FILE = "error.txt"  # Tune's record of a trial's failures, one traceback per failure
ERROR_COLUMN = "error_file"  # trials.parquet: that file, relative to the run folder (None if it never failed)

# Tune bookkeeping we drop from the tidy table (the loop's own metrics say it better).
TUNE_COLUMNS = {
    "config", "date", "timestamp", "pid", "hostname", "node_ip", "time_since_restore",
    "iterations_since_restore", "time_this_iter_s", "done", "training_iteration", "checkpoint_dir_name",
    "should_checkpoint", "experiment_tag",
}


def cell(value: Any) -> Any:
    """Parquet-friendly config values: lists such as width [128, 64] become "128-64"."""
    if isinstance(value, (list, tuple)):
        return "-".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def _read_json_lines(path: Path) -> list[dict[str, Any]]:
    rows = []
    if not path.exists():
        return rows
    for line in path.read_text().splitlines():
        line = line.strip()
        if line:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a crash: skip it, keep the rest
                continue
    return rows


def last_error(path: Path) -> str:
    """The exception line of the latest failure in a trial's error file."""
    lines = [line.strip() for line in Path(path).read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "(empty error file)"


def _params(folder: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A trial's config: params.json, or the config its rows carry when a driver killed while
    Tune copied that file left it empty."""
    try:
        return json.loads((folder / "params.json").read_text())
    except ValueError:
        return next((r["config"] for r in reversed(rows) if isinstance(r.get("config"), dict)), {})


def trial_folders(exp_dir: Path) -> list[Path]:
    return sorted(p.parent for p in Path(exp_dir).glob("*/params.json"))


def tune_statuses(exp_dir: Path) -> dict[str, str]:
    """Trial id -> Tune's status, from the newest experiment_state file (empty if none)."""
    # Named by start time; a resumed run writes a newer one (mtimes are not reliable: Tune syncs all).
    states = sorted(Path(exp_dir).glob("experiment_state-*.json"))
    if not states:
        return {}
    try:
        trials = json.loads(states[-1].read_text())["trial_data"]
        return {t["trial_id"]: t["status"] for t in (json.loads(data) for data, _ in trials)}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def trial_status(folder: Path, tune_status: str | None, rows: list[dict[str, Any]]) -> str:
    """TERMINATED (ran to its end or was stopped early on purpose), ERROR, or UNFINISHED
    (interrupted or never started: --resume continues it)."""
    if tune_status in ("ERROR", "TERMINATED"):  # a trial restarted after a failure has an error file, yet finished
        return tune_status
    if tune_status is None and (folder / ERROR_FILE).exists():
        return "ERROR"
    if tune_status is None and rows and rows[-1].get("done"):
        return "TERMINATED"
    return "UNFINISHED"


def row_key(df: pd.DataFrame) -> str:
    """The column that orders a trial's rows and identifies each: the optimizer step (fractional
    epochs of step-based training repeat no step), or the epoch for rows written before steps."""
    return M.STEP if M.STEP in df and df[M.STEP].notna().all() else M.EPOCH


def collect_rows(exp_dir: Path) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """All epoch rows of all trials (deduplicated; fused populations expanded into their members)
    and each trial's config and status."""
    records, configs = [], {}  # one DataFrame at the end: per-trial frames cost seconds at 200 trials
    statuses = tune_statuses(exp_dir)
    for folder in trial_folders(exp_dir):
        raw = [r for r in _read_json_lines(folder / "result.json") if M.EPOCH in r]  # not Tune's own rows
        params = _params(folder, raw)
        tune_id = raw[-1].get(M.TRIAL_ID) if raw else folder.name.removeprefix("trial_")
        status = trial_status(folder, statuses.get(tune_id), raw)
        for trial_id, config, rows in unpack(tune_id, params, raw):
            configs[trial_id] = {"config": config, "folder": folder, "status": status}
            cells = {key: cell(value) for key, value in config.items()}
            for r in rows:
                record = {k: v for k, v in r.items() if k not in TUNE_COLUMNS}
                # a metric of the same name as a config key (e.g. device) says what really ran
                records.append({**record, **{k: v for k, v in cells.items() if k not in record}, M.TRIAL_ID: trial_id})
    if not records:  # nothing reported yet (e.g. interrupted during start-up)
        return pd.DataFrame(columns=[M.TRIAL_ID, M.EPOCH]), configs
    df = pd.DataFrame.from_records(records)
    key = [M.TRIAL_ID, row_key(df)]
    df = df.drop_duplicates(key, keep="last").sort_values(key)
    return df.reset_index(drop=True), configs


def summarize_trials(results: pd.DataFrame, configs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per trial: config, status, epochs trained, last-epoch metrics, best validation."""
    rows = []
    by_trial = dict(tuple(results.groupby(M.TRIAL_ID, sort=False))) if len(results) else {}
    for trial_id, info in configs.items():
        row: dict[str, Any] = {M.TRIAL_ID: trial_id, **{k: cell(v) for k, v in info["config"].items()}}
        row["status"] = info["status"]
        error = Path(info["folder"]) / ERROR_FILE
        row[ERROR_COLUMN] = f"{Path(info['folder']).name}/{ERROR_FILE}" if error.exists() else None
        mine = by_trial.get(trial_id, results.iloc[:0])
        row["epochs"] = int(mine[M.EPOCH].max()) if len(mine) else 0
        if len(mine):
            row.update(mine.iloc[-1].to_dict())
            if M.VAL_LOSS in mine:  # a run at its source's settings may hold no validation split (text)
                row["best_val_loss"] = float(mine[M.VAL_LOSS].min())
            if M.VAL_ACC in mine:  # losses-only families (regression, language models) have none
                row["best_val_acc"] = float(mine[M.VAL_ACC].max())
        rows.append(row)
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=[M.TRIAL_ID, "status", "epochs"])


def collect(exp_dir: str | Path, meta: SweepMeta, out_dir: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write results.parquet and trials.parquet (with `meta` in their schema) and return both."""
    exp_dir = Path(exp_dir)
    out_dir = Path(out_dir or exp_dir)
    results, configs = collect_rows(exp_dir)
    trials = summarize_trials(results, configs)
    write_parquet(results, out_dir / RESULTS_FILE, meta)
    write_parquet(trials, out_dir / TRIALS_FILE, meta)
    return results, trials
