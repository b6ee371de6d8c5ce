"""`--log wandb`: one W&B run per member (config = its config, history at the row's step) in the
group named after the sweep, tagged with the run's folder name. Offline unless the user is
logged in ($WANDB_API_KEY or a netrc entry; $WANDB_MODE decides when set); files in
results/NAME/wandb/, which `wandb sync results/NAME/wandb/offline-run-*` uploads later."""
from __future__ import annotations

import netrc
import os
from typing import Any
from urllib.parse import urlparse

import wandb

from sweeps.runner.run_logs import FINISHED, MemberBackend, RunInfo

PROJECT = "sweeplab"  # unless $WANDB_PROJECT says otherwise


def logged_in() -> bool:
    """What `wandb login` leaves: $WANDB_API_KEY, or the API host in ~/.netrc (or $NETRC)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def mode() -> str:
    return os.environ.get("WANDB_MODE") or ("online" if logged_in() else "offline")


class WandbLog(MemberBackend):
    name = "wandb"

    def __init__(self, run: RunInfo):
        super().__init__(run)
        self.mode = mode()

    def where(self) -> str:
        if self.mode == "offline":
            return f"W&B offline in {self.run.exp_dir / 'wandb'} (upload: wandb sync {self.run.exp_dir / 'wandb'}/offline-run-*)"
        return f"W&B project {os.environ.get('WANDB_PROJECT', PROJECT)}, group {self.run.sweep} ({self.mode})"

    def start(self, member: str, title: str, params: dict[str, Any], metrics: list[str]) -> None:
        run_id = self.state.ids.get(member)
        # console off: W&B would otherwise wrap the driver's stdout, where Tune's progress lines go.
        settings = wandb.Settings(console="off", silent=True, x_disable_stats=True)
        run = wandb.init(project=os.environ.get("WANDB_PROJECT", PROJECT), group=self.run.sweep, name=title,
                         tags=[self.run.name], config=params, dir=str(self.run.exp_dir), mode=self.mode,
                         id=run_id, resume="allow" if run_id else None, reinit="create_new", settings=settings)
        self.state.ids[member] = run.id
        self.open[member] = run

    def log(self, member: str, step: int, metrics: dict[str, float], when: float) -> None:
        self.open[member].log(metrics, step=step)

    def end(self, member: str, status: str = FINISHED) -> None:
        self.open.pop(member).finish(exit_code=0 if status == FINISHED else 1)
