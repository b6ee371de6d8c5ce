"""What a run was started with, kept in its results folder (sweeplab_run.json), so that `--resume`
continues the same plan (epochs, grid, --set values, data folder, cluster) whatever the resume
command repeats, and the pasted resume hint needs only where the run is. Its `sessions` (one per
start or resume: when, which process on which host, and how it ended) tell `python -m sweeps --runs`
whether the run finished, was interrupted or is running."""
from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import time
from pathlib import Path
from typing import Any

from analysis.results.arguments import UsageError
from analysis.results.storage import is_uri, write_atomically

RECORD_FILE = "sweeplab_run.json"
# Flags that say where and with what a run goes on, not what it computes: --resume may change them.
RESUME_MAY_CHANGE = ("resume", "storage_path", "name", "data_dir", "cpus_per_trial", "gpus_per_trial", "address", "profile")
PATH_FLAGS = ("--data-dir", "--base-from", "--storage-path")  # recorded absolute: a resume may run from elsewhere


def absolute_paths(argv: list[str]) -> list[str]:
    """argv with the values of PATH_FLAGS (--flag VALUE or --flag=VALUE) made absolute."""
    out = list(argv)
    for i, arg in enumerate(out):
        flag, eq, value = arg.partition("=")
        if flag in PATH_FLAGS and eq:
            out[i] = f"{flag}={_absolute(value)}"
        elif arg in PATH_FLAGS and i + 1 < len(out):
            out[i + 1] = _absolute(out[i + 1])
    return out


def _absolute(value: str) -> str:
    return value if is_uri(value) else str(Path(value).expanduser().resolve())


def write_record(exp_dir: Path, sweep: str, argv: list[str], data: dict[str, Any]) -> Path:
    """Write the record of a new run (atomically: a reader never sees half of it)."""
    text = json.dumps({"sweep": sweep, "argv": absolute_paths(argv), "data": data}, indent=1)
    return Path(write_atomically(exp_dir / RECORD_FILE, lambda out: out.write(text.encode())))


def read_record(exp_dir: Path) -> dict[str, Any] | None:
    """The record of a run, or None for a run started before records were kept."""
    try:
        return json.loads((Path(exp_dir) / RECORD_FILE).read_text())
    except (OSError, ValueError):
        return None


def _rewrite(exp_dir: Path, record: dict[str, Any]) -> None:
    text = json.dumps(record, indent=1)
    write_atomically(Path(exp_dir) / RECORD_FILE, lambda out: out.write(text.encode()))


def start_session(exp_dir: Path, started: float) -> bool:
    """Add this process's session (`started`: Unix time, pid, host) to the run's record; False when
    the run has no record (started before records were kept)."""
    record = read_record(exp_dir)
    if record is None:
        return False
    session = {"started": started, "pid": os.getpid(), "host": socket.gethostname()}
    _rewrite(exp_dir, {**record, "sessions": [*record.get("sessions", []), session]})
    return True


def end_session(exp_dir: Path, status: str) -> None:
    """Close this process's open session with `status` (finished or interrupted)."""
    record = read_record(exp_dir)
    if record is None or not record.get("sessions"):
        return
    last = record["sessions"][-1]
    if last.get("pid") == os.getpid() and "ended" not in last:
        last.update(ended=time.time(), status=status)
        _rewrite(exp_dir, record)


def resumed_args(parser: argparse.ArgumentParser, given: argparse.Namespace, record: dict[str, Any] | None,
                 sweep: str, exp_dir: Path) -> argparse.Namespace:
    """The flags of the recorded run, with what the resume command may change (RESUME_MAY_CHANGE);
    any other flag it gives must equal the recorded one, else a one-line error."""
    if record is None:
        return given
    if record.get("sweep") != sweep:
        raise UsageError(f"--resume: {exp_dir} holds a {record.get('sweep')} run; allowed: "
                         f"python -m sweeps.{record.get('sweep')} --resume --storage-path {shlex.quote(str(exp_dir.parent))} "
                         f"--name {shlex.quote(exp_dir.name)}")
    recorded = parser.parse_args(record["argv"])
    defaults = parser.parse_args([])
    for dest, value in vars(given).items():
        if dest in RESUME_MAY_CHANGE or value == getattr(defaults, dest) or value == getattr(recorded, dest):
            continue
        flag = "--" + dest.replace("_", "-")
        raise UsageError(f"{flag} cannot change on --resume: the run goes on as it was started "
                         f"({' '.join(map(shlex.quote, record['argv'])) or 'no flags'}); allowed with --resume: "
                         + ", ".join("--" + d.replace("_", "-") for d in RESUME_MAY_CHANGE[1:]))
    merged = argparse.Namespace(**vars(recorded))
    for dest in RESUME_MAY_CHANGE:
        if getattr(given, dest) != getattr(defaults, dest):
            setattr(merged, dest, getattr(given, dest))
    merged.resume = True
    return merged


def resume_command(prog: str, storage_path: str, name: str) -> str:
    """The command that continues the run `name` in `storage_path`, from any folder."""
    return f"{prog} --resume --storage-path {shlex.quote(storage_path)} --name {shlex.quote(name)}"
