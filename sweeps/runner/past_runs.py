"""`python -m sweeps --runs`: the runs under a results root, one line each: sweep, name, status,
trials, when it started, wall time, the best trial's headline metric and the reference scorecard.

Status comes from the sessions in each run's record (sweeps.runner.run_record): the last session's
end says finished or interrupted; a session without an end is running while its process lives on
this host, and interrupted once it is gone (a killed driver writes no end). Runs recorded before
sessions were kept are judged by their trials table.

    python -m sweeps --runs                           # under ./results, where sweeps write by default
    python -m sweeps --runs --storage-path /data/runs
"""
from __future__ import annotations

import time
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

from analysis.results.arguments import UsageError
from analysis.results.curriculum_index import sweep_summary
from analysis.results.references import score_text, scorecard
from analysis.results.storage import is_uri
from analysis.results.tables import RESULTS_FILE, TRIALS_FILE, read_parquet
from sweeps.runner.run_record import RECORD_FILE, read_record

FINISHED, INTERRUPTED, RUNNING, UNKNOWN = "finished", "interrupted", "running", "unknown"
ENDED = ("TERMINATED", "ERROR")  # trial statuses of a run that got to its end (analysis.results.collect)


@dataclass(frozen=True)
class PastRun:
    sweep: str
    name: str
    status: str
    trials: str
    started: str
    wall_time: str
    headline: str
    scorecard: str


def is_run(folder: Path) -> bool:
    return (folder / RECORD_FILE).is_file() or (folder / RESULTS_FILE).is_file()


def run_folders(root: Path) -> list[Path]:
    """Runs directly under `root`, and one level down in folders that are not runs themselves
    (a curriculum's folder holds its sweeps' runs)."""
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        found += [folder] if is_run(folder) else sorted(p for p in folder.iterdir() if p.is_dir() and is_run(p))
    return found


def alive(session: dict[str, Any]) -> bool | None:
    """Whether the session's process still runs; None when it ran on another host (not visible here)."""
    import socket

    import psutil

    if session.get("host") != socket.gethostname():
        return None
    try:  # a pid the system gave to a later process is not the session's
        return psutil.Process(int(session["pid"])).create_time() <= session["started"] + 1
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False


def session_status(sessions: list[dict[str, Any]]) -> str:
    last = sessions[-1]
    if "ended" in last:
        return last.get("status", UNKNOWN)
    running = alive(last)
    if running is None:
        return f"{UNKNOWN} (running on {last.get('host')}?)"
    return RUNNING if running else INTERRUPTED


def table_status(trials) -> str:
    """A run without sessions: finished when every trial ended, else interrupted."""
    if trials is None:
        return UNKNOWN
    return FINISHED if len(trials) and trials["status"].isin(ENDED).all() else INTERRUPTED


def wall_seconds(sessions: list[dict[str, Any]]) -> float:
    """The sessions' durations added up (a running one until now)."""
    return sum(s.get("ended", time.time()) - s["started"] for s in sessions if "started" in s)


def past_run(folder: Path, root: Path) -> PastRun:
    from sweeps.runner.estimate import fmt_seconds

    record = read_record(folder) or {}
    sessions = record.get("sessions", [])
    trials = read_parquet(folder / TRIALS_FILE)[0] if (folder / TRIALS_FILE).is_file() else None
    sweep = record.get("sweep") or (read_parquet(folder / RESULTS_FILE)[1].sweep if (folder / RESULTS_FILE).is_file() else "")
    headline, references = sweep_summary(folder)
    started = sessions[0]["started"] if sessions else (folder / RECORD_FILE).stat().st_mtime if record else None
    score = score_text(scorecard(references)) if references is not None and len(references) else "-"
    return PastRun(
        sweep=sweep or "?", name=folder.relative_to(root).as_posix(),
        status=session_status(sessions) if sessions else table_status(trials),
        trials=str(len(trials)) if trials is not None else "-",
        started=time.strftime("%Y-%m-%d %H:%M", time.localtime(started)) if started else "-",
        wall_time=fmt_seconds(wall_seconds(sessions)) if sessions else "-",
        headline=headline or "-", scorecard=score)


def list_runs(storage_path: str) -> list[PastRun]:
    """The runs under `storage_path`, oldest first; a URI or a missing folder is a one-line UsageError."""
    if is_uri(storage_path):
        raise UsageError(f"--storage-path {storage_path}: --runs lists a local results root, not a URI; allowed: a "
                         "local folder or shared mount")
    root = Path(storage_path).expanduser()
    if not root.is_dir():
        raise UsageError(f"--storage-path {storage_path} is not a folder; allowed: a results root that holds runs "
                         "(where python -m sweeps.NAME --storage-path wrote them)")
    return sorted((past_run(f, root) for f in run_folders(root)), key=lambda r: (r.started, r.name))


def runs_text(runs: list[PastRun], root: str) -> str:
    """The runs as aligned columns, headed by their names."""
    if not runs:
        return f"no runs under {root}"
    header = tuple(f.name.replace("_", " ") for f in fields(PastRun))
    rows = [header, *(astuple(r) for r in runs)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
