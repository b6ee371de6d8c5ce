"""`--log mlflow`: the run as a parent MLflow run in the experiment named after the sweep, each
member a nested child run (params = its config, metrics per step); the finish phase attaches
the report (.md and .html) and the plots to the parent and ends it. The tracking URI is $MLFLOW_TRACKING_URI, else
a SQLite store in the run folder (MLflow 3 refuses its file store unless told otherwise):

    mlflow ui --backend-store-uri sqlite:///results/NAME/mlflow.db
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from sweeps.runner.run_logs import FINISHED, KILLED, LogState, MemberBackend, RunInfo

PARENT = "parent"  # LogState.ids key of the parent run
DB_FILE, ARTIFACTS = "mlflow.db", "mlartifacts"
REPORTS, PLOTS = ("report.md", "report.html"), "plots"  # the page links plots/ beside it, as attached
BATCH = 1000  # MLflow takes at most 1000 metrics in one log_batch


def tracking_uri(exp_dir: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(exp_dir).resolve() / DB_FILE}"


def client_for(exp_dir: Path) -> MlflowClient:
    # A new SQLite store creates its tables, saying so at INFO for each migration.
    for name in ("mlflow.store.db.utils", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return MlflowClient(tracking_uri(exp_dir))


def experiment_id(client: MlflowClient, run: RunInfo) -> str:
    """The sweep's experiment; a new one in a local store keeps its artifacts beside the database."""
    found = client.get_experiment_by_name(run.sweep)
    if found is not None:
        return found.experiment_id
    local = None if os.environ.get("MLFLOW_TRACKING_URI") else (run.exp_dir.resolve() / ARTIFACTS).as_uri()
    return client.create_experiment(run.sweep, artifact_location=local)


class MLflowLog(MemberBackend):
    name = "mlflow"

    def __init__(self, run: RunInfo):
        super().__init__(run)
        self.client = client_for(run.exp_dir)
        self.experiment = experiment_id(self.client, run)
        if PARENT in self.state.ids:  # --resume: the same parent goes on
            self.client.update_run(self.state.ids[PARENT], status="RUNNING")
        else:
            parent = self.client.create_run(self.experiment, run_name=run.name, tags={"sweeplab.results": str(run.exp_dir)})
            self.state.ids[PARENT] = parent.info.run_id
            self.state.save()

    def where(self) -> str:
        uri = tracking_uri(self.run.exp_dir)
        return f"mlflow ui --backend-store-uri {uri}" if uri.startswith("sqlite:") else f"MLflow at {uri}"

    def start(self, member: str, title: str, params: dict[str, Any], metrics: list[str]) -> None:
        run_id = self.state.ids.get(member)
        if run_id is None:
            tags = {MLFLOW_PARENT_RUN_ID: self.state.ids[PARENT], "sweeplab.trial_id": member}
            run_id = self.client.create_run(self.experiment, run_name=title, tags=tags).info.run_id
            self.client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
            self.state.ids[member] = run_id
        else:
            self.client.update_run(run_id, status="RUNNING")
        self.open[member] = run_id

    def log(self, member: str, step: int, metrics: dict[str, float], when: float) -> None:
        points = [Metric(k, v, int(when * 1000), step) for k, v in metrics.items()]
        for i in range(0, len(points), BATCH):
            self.client.log_batch(self.open[member], metrics=points[i:i + BATCH])

    def end(self, member: str, status: str = FINISHED) -> None:
        self.client.set_terminated(self.open.pop(member), status)

    @classmethod
    def finish(cls, run: RunInfo, complete: bool) -> None:
        """Attach report.md, report.html and the plots to the parent run; FINISHED, or KILLED when trials are
        left for --resume (which reopens it)."""
        parent = LogState.load(run.exp_dir, cls.name).ids.get(PARENT)
        if parent is None:  # interrupted before Tune started
            return
        client = client_for(run.exp_dir)
        for report in REPORTS:
            if (run.exp_dir / report).is_file():
                client.log_artifact(parent, str(run.exp_dir / report))
        for png in sorted((run.exp_dir / PLOTS).glob("*.png")):
            client.log_artifact(parent, str(png), artifact_path=PLOTS)
        client.set_terminated(parent, FINISHED if complete else KILLED)
