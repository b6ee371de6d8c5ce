"""Where a sweep's results live: a local folder (a shared mount on a cluster), or a URI every node
reaches (s3://, gs://, file://...). Ray Tune on several nodes needs the second: it writes each
trial's folder and checkpoints from the node the trial ran on.

For a URI, every read and write of ours goes through pyarrow.fs, here: after the run `pull` copies
what collection and the report read (configs, result rows, Tune's state, error files and each
trial's latest checkpoint) into a local staging folder, the tables, plots and report are made
there, and `push` uploads them beside the trial folders, each file atomically.

    store = Store.of("s3://lab-bucket/sweeps"); pull(store, "mnist_width", Path("/tmp/stage"))
"""
from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs

from data_modules.atomic import filesystem_of, write_atomically
from models.errors import UserError

# Schemes pyarrow's FileSystem.from_uri opens (each needs its own credentials on the nodes).
SCHEMES = ("file", "s3", "gs", "gcs", "hdfs", "abfs", "abfss")
# What collection, the summary and the report read from a run folder (trial files by name).
PULLED = ("params.json", "result.json", "error.txt", "sweeplab_run.json", "experiment_state-*.json")
PRODUCTS = ("*.parquet", "report.md", "report.html", "plots/*")  # what finishing a run writes, uploaded by push


class StorageError(UserError):
    """A --storage-path that names no usable store; the message lists what is allowed."""


def is_uri(text: str) -> bool:
    return "://" in str(text)


def check_storage(text: str) -> str:
    """`text` if it names a local folder or a URI of a known scheme (not opened here: opening an
    s3:// URI may reach the network), else a one-line StorageError."""
    if not is_uri(text):
        return text
    scheme = text.split("://", 1)[0].lower()
    if scheme not in SCHEMES:
        raise StorageError(f"{text}: unknown scheme {scheme}://; allowed: a local folder or shared mount, or "
                           + ", ".join(f"{s}://" for s in SCHEMES))
    return text.rstrip("/")


@dataclass(frozen=True)
class Store:
    """A results root on a pyarrow filesystem; `uri` is what Tune's storage_path gets."""

    fs: pafs.FileSystem
    root: str
    uri: str

    @classmethod
    def of(cls, text: str) -> "Store":
        try:
            fs, root = pafs.FileSystem.from_uri(check_storage(text))
        except (OSError, ValueError) as e:  # pyarrow.ArrowInvalid is a ValueError
            raise StorageError(f"{text}: {str(e).splitlines()[0]}") from None
        return cls(fs, root.rstrip("/"), text.rstrip("/"))

    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def uri_of(self, name: str) -> str:
        return f"{self.uri}/{name}"

    def folders(self) -> list[str]:
        """Names of the folders directly under the root (none when it does not exist yet)."""
        infos = self.fs.get_file_info(pafs.FileSelector(self.root, allow_not_found=True))
        return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory)

    def exists(self, *parts: str) -> bool:
        return self.fs.get_file_info(self.path(*parts)).type != pafs.FileType.NotFound


def read_text(path: str | Path, fs: pafs.FileSystem | None = None) -> str:
    fs, path = filesystem_of(fs, path)
    with fs.open_input_stream(path) as f:
        return f.read().decode("utf-8")


def pull(store: Store, name: str, local: Path, patterns: tuple[str, ...] = PULLED, checkpoints: bool = True) -> list[str]:
    """Copy the run `name`'s files whose names match `patterns` (by default what collection and the
    report read) and every trial's latest checkpoint into the folder `local`; returns their paths
    relative to the run."""
    base = store.path(name)
    infos = store.fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    files = [posixpath.relpath(i.path, base) for i in infos if i.type == pafs.FileType.File]
    latest = _latest_checkpoints(files) if checkpoints else set()
    wanted = [f for f in files if any(fnmatch.fnmatch(posixpath.basename(f), p) for p in patterns)
              or posixpath.dirname(f) in latest]
    for rel in wanted:
        target = local / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with store.fs.open_input_stream(posixpath.join(base, rel)) as src:
            target.write_bytes(src.read())
    return wanted


def _latest_checkpoints(files: list[str]) -> set[str]:
    """trial_x/checkpoint_NNNNNN folders, the newest of each trial."""
    newest: dict[str, str] = {}
    for f in files:
        parts = f.split("/")
        if len(parts) == 3 and parts[1].startswith("checkpoint_"):
            newest[parts[0]] = max(newest.get(parts[0], ""), parts[1])
    return {f"{trial}/{ckpt}" for trial, ckpt in newest.items()}


def push(local: Path, store: Store, name: str, patterns: tuple[str, ...] = PRODUCTS) -> list[str]:
    """Upload the files of `local` matching `patterns` (relative paths) into the run `name`."""
    sent = []
    for pattern in patterns:
        for path in sorted(local.glob(pattern)):
            if path.is_file():
                rel = path.relative_to(local).as_posix()
                data = path.read_bytes()
                write_atomically(store.path(name, rel), lambda out, data=data: out.write(data), store.fs)
                sent.append(rel)
    return sent
