"""What produced a result: library versions, the git commit of this checkout, and the machine."""
from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

import torch

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """HEAD of the project checkout ("+dirty" when it has uncommitted changes), or "unknown"."""
    try:
        run = lambda *a: subprocess.run(  # noqa: E731
            ["git", *a], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        commit = run("rev-parse", "HEAD")
        return commit + ("+dirty" if run("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def versions() -> dict[str, str]:
    import ray

    return {"torch_version": torch.__version__, "ray_version": ray.__version__}


def machine_cpus() -> int:
    """The CPUs a local Ray detects on this machine."""
    try:
        from ray._private.utils import get_num_cpus  # Ray's own count, aware of cgroup quotas

        return int(get_num_cpus())
    except Exception:
        return os.cpu_count() or 1
