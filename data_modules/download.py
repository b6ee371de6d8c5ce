"""Where datasets live, and fetching them with torchvision's downloaders: once, under a file
lock (trials and parallel runs never race), quietly, and failing in milliseconds offline."""
from __future__ import annotations

import contextlib
import io
import os
import socket
from pathlib import Path
from typing import Callable

from data_modules.base import DataBundle


def default_data_dir() -> Path:
    return Path(os.environ.get("SWEEPLAB_DATA_DIR", Path.home() / ".cache" / "sweeplab" / "data"))


def reachable(host: str) -> str | None:
    """None when a download from `host` can be tried, else why not (offline: in milliseconds)."""
    if os.environ.get("SWEEPLAB_OFFLINE"):
        return "SWEEPLAB_OFFLINE is set"
    try:
        socket.getaddrinfo(host, 443)
    except OSError as e:
        return f"cannot resolve {host}: {e.strerror or e}"
    return None


def try_download(data_dir: Path, fetch: Callable[[str], None], host: str, lock_name: str,
                 done: Callable[[], bool] = lambda: False) -> str | None:
    """Run `fetch(data_dir)` under `data_dir/lock_name`; None on success, else why not. `host`
    is resolved first: offline, that answers at once instead of after every mirror's timeout.
    `done()` says whether another process finished the download while this one waited."""
    why = reachable(host)
    if why:
        return why
    from filelock import FileLock

    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(data_dir / lock_name))
        lock.acquire()
    except OSError as e:
        return f"cannot write to {data_dir}: {e.strerror or e}"
    try:  # torchvision prints progress and every mirror it tries; keep the console readable
        if done():
            return None
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            fetch(str(data_dir))
    except Exception as e:  # any network/HTTP/checksum failure means "not downloadable"
        return str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
    finally:
        lock.release()
    return None


def read_or_download(data_dir: Path, read: Callable[[Path], DataBundle | None], download: Callable[[Path], str | None],
                     allowed: bool) -> tuple[DataBundle | None, str]:
    """The dataset from disk, downloading it first if it is absent and `allowed`; else (None, why)."""
    bundle = read(data_dir)
    if bundle is not None:
        return bundle, ""
    why = download(data_dir) if allowed else "download disabled"
    if why is None:
        bundle = read(data_dir)
        if bundle is not None:
            return bundle, ""
        why = "download left no files"
    return None, why
