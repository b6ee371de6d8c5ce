"""`--log tensorboard,mlflow,wandb`: the registry of logging backends, their checks (before data
and Ray), what each has logged (for `--resume`), and the finish phase's last step.

Every backend writes one run per trial, and one per member of a fused population
(sweeps.runner.member_log feeds them), under the run folder unless told otherwise:

    --log tensorboard   results/NAME/tensorboard/<trial id>/        tensorboard --logdir results/NAME
    --log mlflow        $MLFLOW_TRACKING_URI, else results/NAME/mlflow.db (+ mlartifacts/)
    --log wandb         offline unless logged in, files in results/NAME/wandb/
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.results.arguments import UsageError
from data_modules.atomic import write_text_atomically

LOGGED_DIR = "logged"  # results/NAME/logged/<backend>.json: LogState
FINISHED, FAILED, KILLED = "FINISHED", "FAILED", "KILLED"  # how a run ends, in MLflow's words


@dataclass(frozen=True)
class Backend:
    """Where a backend's class lives (imported only when used: each package takes seconds) and
    the package it needs, installed by the extra of the same name."""

    module: str
    cls: str
    package: str

    def install_hint(self, name: str) -> str:
        return f"--log {name} needs the {self.package} package: pip install 'sweeplab[{name}]'"


BACKENDS = {
    "tensorboard": Backend("sweeps.runner.log_tensorboard", "TensorBoardLog", "tensorboard"),
    "mlflow": Backend("sweeps.runner.log_mlflow", "MLflowLog", "mlflow"),
    "wandb": Backend("sweeps.runner.log_wandb", "WandbLog", "wandb"),
}


def parse_logs(text: str) -> tuple[str, ...]:
    """"tensorboard,mlflow" -> ("tensorboard", "mlflow"); an unknown name is a UsageError."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    for name in names:
        if name not in BACKENDS:
            raise UsageError(f"unknown backend {name!r}; allowed: {', '.join(BACKENDS)} (comma separated)")
    return names


def check_installed(names: tuple[str, ...]) -> None:
    """One line saying how to install the first backend whose package is missing."""
    for name in names:
        backend = BACKENDS[name]
        if importlib.util.find_spec(backend.package) is None:
            raise UsageError(backend.install_hint(name))


def backend_class(name: str) -> type[MemberBackend]:
    backend = BACKENDS[name]
    return getattr(importlib.import_module(backend.module), backend.cls)


@dataclass
class LogState:
    """What one backend has logged of a run: the last step of each member, and the ids of the
    runs it made (a `--resume` continues them and logs only later steps). Written atomically."""

    path: Path
    steps: dict[str, int] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, exp_dir: Path, backend: str) -> LogState:
        path = Path(exp_dir) / LOGGED_DIR / f"{backend}.json"
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            saved = {}
        return cls(path, {k: int(v) for k, v in saved.get("steps", {}).items()}, dict(saved.get("ids", {})))

    def save(self) -> None:
        write_text_atomically(self.path, json.dumps({"steps": self.steps, "ids": self.ids}, indent=1, sort_keys=True))


@dataclass(frozen=True)
class RunInfo:
    """The run a backend logs: its folder, sweep name and folder name (NAME)."""

    exp_dir: Path
    sweep: str
    name: str


class MemberBackend:
    """One logging backend. `start` opens (or, on --resume, reopens) a member's run, `log` adds
    one row's metrics at a step, `end` closes it, `close` ends the backend after Tune;
    `finish` is the finish phase's step, once the report is written (MLflow attaches it)."""

    name = ""

    def __init__(self, run: RunInfo):
        self.run = run
        self.state = LogState.load(run.exp_dir, self.name)
        self.open: dict[str, Any] = {}  # member -> its open run (writer, run id, W&B run)

    def where(self) -> str:
        """One line: where to watch the runs."""
        raise NotImplementedError

    def start(self, member: str, title: str, params: dict[str, Any], metrics: list[str]) -> None:
        raise NotImplementedError

    def log(self, member: str, step: int, metrics: dict[str, float], when: float) -> None:
        raise NotImplementedError

    def end(self, member: str, status: str = FINISHED) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Tune has ended: the runs still open were cut short (Ctrl-C); --resume reopens them."""
        for member in list(self.open):
            self.end(member, KILLED)

    @classmethod
    def finish(cls, run: RunInfo, complete: bool) -> None:
        """After the report is built (sweeps.runner.run.finish_run); `complete`: every trial ended."""


def finish_logs(names: tuple[str, ...], run: RunInfo, complete: bool) -> None:
    for name in names:
        try:
            backend_class(name).finish(run, complete)
        except Exception as e:  # noqa: BLE001 - the results are written; a logging failure must not fail the run
            stopped(name, e)


def stopped(name: str, error: Exception) -> None:
    """One line for a backend that failed (a tracking server gone): the sweep goes on without it."""
    first = str(error).splitlines()[0] if str(error) else ""
    print(f"sweeplab: warning: --log {name} stopped: {type(error).__name__}: {first}", file=sys.stderr, flush=True)
