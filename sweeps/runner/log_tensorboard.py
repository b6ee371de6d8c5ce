"""`--log tensorboard`: one event-file folder per member under results/NAME/tensorboard/, named by
its trial id in the results tables, with its config in TensorBoard's HParams tab:

    tensorboard --logdir results/NAME
"""
from __future__ import annotations

from typing import Any

from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

from sweeps.runner.run_logs import FINISHED, MemberBackend

FOLDER = "tensorboard"


class TensorBoardLog(MemberBackend):
    name = "tensorboard"

    def where(self) -> str:
        return f"tensorboard --logdir {self.run.exp_dir}"

    def start(self, member: str, title: str, params: dict[str, Any], metrics: list[str]) -> None:
        writer = SummaryWriter(log_dir=str(self.run.exp_dir / FOLDER / member))
        if member not in self.state.ids:  # the config once; a resumed member's folder has it
            # The summaries add_hparams would write, into this run's own event file: add_hparams
            # itself opens a second run folder beside it.
            for summary in hparams(params, dict.fromkeys(metrics, 0.0)):
                writer.file_writer.add_summary(summary)
            self.state.ids[member] = member
        self.open[member] = writer

    def log(self, member: str, step: int, metrics: dict[str, float], when: float) -> None:
        writer = self.open[member]
        for key, value in metrics.items():
            writer.add_scalar(key, value, global_step=step, walltime=when)
        writer.flush()  # watched live: a row shows as soon as it is logged

    def end(self, member: str, status: str = FINISHED) -> None:
        self.open.pop(member).close()
