"""One atomic write for every file the project writes (datasets' caches, checkpoints, weight
records, Parquet tables, reports, state files), on a local disk or any pyarrow filesystem: a
reader sees the old file or the new one, never half of one.

    write_atomically(path, lambda out: torch.save(state, out))
    write_text_atomically(path, text)
"""
from __future__ import annotations

import fnmatch
import os
import posixpath
from pathlib import Path
from typing import Callable

import pyarrow.fs as pafs


def write_atomically(path: str | Path, write: Callable, fs: pafs.FileSystem | None = None) -> str:
    """write(stream) into a temp file beside `path`, then rename it over `path`: a reader sees the
    old file or the new one, never half of one. Temp files a crashed writer left (one writer per
    results folder at a time) are removed first."""
    fs, path = filesystem_of(fs, path)
    folder, name = posixpath.split(path)
    fs.create_dir(folder, recursive=True)
    remove_stale_temps(fs, folder, name)
    tmp = posixpath.join(folder, f".{name}.{os.getpid()}.tmp")
    with fs.open_output_stream(tmp) as out:
        write(out)
    fs.move(tmp, path)
    return path


def remove_stale_temps(fs: pafs.FileSystem, folder: str, name: str) -> list[str]:
    pattern = f".{name}.*.tmp"
    infos = fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
    stale = [i.path for i in infos if i.type == pafs.FileType.File and fnmatch.fnmatch(i.base_name, pattern)]
    for p in stale:
        fs.delete_file(p)
    return stale


def write_text_atomically(path: str | Path, text: str) -> str:
    return write_atomically(path, lambda out: out.write(text.encode("utf-8")))


def filesystem_of(fs: pafs.FileSystem | None, path: str | Path) -> tuple[pafs.FileSystem, str]:
    if fs is None:  # LocalFileSystem wants absolute paths
        return pafs.LocalFileSystem(), os.path.abspath(path)
    return fs, str(path)
