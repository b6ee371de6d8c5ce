"""Image folders described by a CSV manifest (the "DogSet" case: your own photos, one row each).

    file,label,partition
    train/rex.jpg,beagle,train
    valid/ada.png,poodle,valid
    test/max.jpg,beagle,test

The image column may be called file, path, image or filename; partition is train, valid
(or validation / val) or test, in any case. Image paths are relative to the CSV's folder. Images
are decoded once (RGB, resized to image_size x image_size, bilinear) into a cache file beside the
CSV, `.{manifest}.{S}x{S}.cache.pt`, keyed by the CSV bytes and every image's size and mtime.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from data_modules.atomic import write_atomically
from data_modules.base import DataAbsent, DataBundle, DataError, DataMeta, DataPeek, Split, register_dataset
from data_modules.download import default_data_dir

FILE_COLUMNS = ("file", "path", "image", "filename")
PARTITIONS = {"train": "train", "valid": "valid", "validation": "valid", "val": "valid", "test": "test"}
ORDER = ("train", "valid", "test")
MAX_IMAGE_SIZE = 1024
CACHE_VERSION = 1  # bump when the cache layout or the decoding changes
# Floor for a channel's std: a set of flat-colour images would otherwise normalise to inf.
MIN_STD = 1e-3


@dataclass(frozen=True)
class Row:
    line: int  # line in the CSV, header = 1
    file: str  # as written in the CSV
    path: Path
    label: str
    partition: str  # train / valid / test


def _columns(path: Path, header: list[str]) -> tuple[int, int, int]:
    names = [h.strip().lower() for h in header]
    image = next((names.index(c) for c in FILE_COLUMNS if c in names), None)
    if image is None or "label" not in names or "partition" not in names:
        raise DataError(
            f"{path}: header has columns {', '.join(repr(h) for h in header) or 'none'}; need an image column "
            f"({', '.join(FILE_COLUMNS)}), label and partition"
        )
    return image, names.index("label"), names.index("partition")


def read_manifest(path: Path) -> tuple[bytes, list[Row], list[tuple[int, str]]]:
    """(CSV bytes, rows that look right, [(line, problem)] for the others); no image is decoded."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataAbsent(f"manifest {path} does not exist; allowed: --data-dir FOLDER (the folder holding "
                        f"{path.name}) and, for another file name, --set manifest=NAME.csv") from None
    except OSError as e:
        raise DataError(f"manifest {path} cannot be read ({e.strerror or e})") from None
    try:
        reader = csv.reader(raw.decode("utf-8-sig").splitlines())
        header = next(reader, [])
        i_file, i_label, i_part = _columns(path, header)
        rows, bad = [], []
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue  # blank line
            cell = lambda i: cells[i].strip() if i < len(cells) else ""  # noqa: E731
            name, label, part = cell(i_file), cell(i_label), cell(i_part)
            problems = []
            if not name:
                problems.append("empty file name")
            elif not (path.parent / name).is_file():
                problems.append(f"missing file {name!r}")
            if not label:
                problems.append("empty label")
            if part.lower() not in PARTITIONS:
                problems.append(f"unknown partition {part!r} (allowed: {', '.join(ORDER)})")
            if problems:
                bad.append((line, ", ".join(problems)))
            else:
                rows.append(Row(line, name, path.parent / name, label, PARTITIONS[part.lower()]))
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except csv.Error as e:
        raise DataError(f"{path}: line {reader.line_num}: malformed CSV ({e})") from None
    return raw, rows, bad


def _key(raw: bytes, rows: list[Row], image_size: int) -> str:
    h = hashlib.sha256(raw)
    h.update(f"v{CACHE_VERSION} {image_size}".encode())
    for r in rows:
        st = r.path.stat()
        h.update(f"\0{r.file}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()


def _decode(rows: list[Row], image_size: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Every image as RGB uint8 (N, 3, S, S), plus [(line, problem)] for those PIL cannot read."""
    from PIL import Image, UnidentifiedImageError

    x = np.zeros((len(rows), 3, image_size, image_size), dtype=np.uint8)
    bad = []
    for i, r in enumerate(rows):
        try:
            with Image.open(r.path) as im:
                im = im.convert("RGB").resize((image_size, image_size), Image.Resampling.BILINEAR)
                x[i] = np.asarray(im).transpose(2, 0, 1)
        except UnidentifiedImageError:  # its message repeats the full path
            bad.append((r.line, f"unreadable image {r.file!r} (cannot identify image file)"))
        except Exception as e:  # PIL raises many types on broken files (OSError, SyntaxError, struct.error...)
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            bad.append((r.line, f"unreadable image {r.file!r} ({reason})"))
    return x, bad


def _read_cache(cache: Path, key: str) -> torch.Tensor | None:
    try:
        saved = torch.load(cache, weights_only=True)
        if saved.get("key") == key and isinstance(saved.get("x"), torch.Tensor):
            return saved["x"]
    except Exception:  # absent, truncated or from another version: decode again
        pass
    return None


def _write_cache(cache: Path, key: str, x: torch.Tensor) -> None:
    try:
        write_atomically(cache, lambda out: torch.save({"key": key, "x": x, "version": CACHE_VERSION}, out))
    except OSError:  # a read-only data folder only costs the decoding next time
        pass


def _bad_rows_error(path: Path, bad: list[tuple[int, str]]) -> DataError:
    bad = sorted(bad)
    rows = "; ".join(f"line {n}: {problem}" for n, problem in bad)
    return DataError(f"{path}: {len(bad)} bad row{'s' * (len(bad) != 1)}: {rows}")


def _images(path: Path, rows: list[Row], raw: bytes, bad: list[tuple[int, str]], image_size: int) -> torch.Tensor:
    """The decoded images of `rows`, from the cache when it is current, else decoded (and cached
    under a file lock, so concurrent loaders decode once)."""
    if bad:  # decode anyway, so that one error lists every bad row including unreadable images
        bad = bad + _decode(rows, image_size)[1]
        raise _bad_rows_error(path, bad)
    cache = path.with_name(f".{path.name}.{image_size}x{image_size}.cache.pt")
    key = _key(raw, rows, image_size)
    x = _read_cache(cache, key)
    if x is not None:
        return x
    from filelock import FileLock

    with contextlib.ExitStack() as stack:
        with contextlib.suppress(OSError):  # no lock in a read-only folder: just decode
            stack.enter_context(FileLock(str(cache) + ".lock"))
            x = _read_cache(cache, key)  # another process may have written it while we waited
            if x is not None:
                return x
        array, bad = _decode(rows, image_size)
        if bad:
            raise _bad_rows_error(path, bad)
        x = torch.from_numpy(array)
        _write_cache(cache, key, x)
    return x


def _mean_std(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images as fractions of 255, in chunks (no full float copy)."""
    total = torch.zeros(3, dtype=torch.float64)
    squares = torch.zeros(3, dtype=torch.float64)
    for i in range(0, len(x), 1024):
        chunk = x[i : i + 1024].double() / 255.0
        total += chunk.sum((0, 2, 3))
        squares += (chunk**2).sum((0, 2, 3))
    n = max(len(x) * x.shape[2] * x.shape[3], 1)
    mean = total / n
    std = (squares / n - mean**2).clamp_min(0).sqrt().clamp_min(MIN_STD)
    return tuple(round(v, 4) for v in mean.tolist()), tuple(round(v, 4) for v in std.tolist())


def peek_manifest(data_dir: str | Path | None = None, manifest: str = "dogs.csv", image_size: int = 64,
                  download: bool = True) -> DataPeek:
    """Row counts from the CSV alone (no image is opened); unavailable without the CSV."""
    path = (Path(data_dir) if data_dir else default_data_dir()) / manifest
    shape = (3, image_size, image_size)
    try:
        _, rows, _ = read_manifest(path)
    except DataError as e:
        return DataPeek(f"manifest:{manifest}", 0, 0, shape, 0, available=False, why=str(e),
                        unreadable=not isinstance(e, DataAbsent))
    counts = {part: sum(r.partition == part for r in rows) for part in ORDER}
    return DataPeek(f"manifest:{manifest}:{image_size}x{image_size}", counts["train"] + counts["valid"], counts["test"],
                    shape, len({r.label for r in rows}), n_val=counts["valid"] or None)  # none listed: carved from train


@register_dataset("manifest", peek=peek_manifest)
def load_manifest(
    data_dir: str | Path | None = None, manifest: str = "dogs.csv", image_size: int = 64, download: bool = True
) -> DataBundle:
    """Images listed in `data_dir/manifest` as uint8 (N, 3, image_size, image_size); `download` is
    accepted for a uniform signature and ignored (there is nothing to download)."""
    if isinstance(image_size, bool) or not isinstance(image_size, int) or not 1 <= image_size <= MAX_IMAGE_SIZE:
        raise DataError(f"image_size {image_size!r} is not allowed; use an integer from 1 to {MAX_IMAGE_SIZE}")
    path = (Path(data_dir) if data_dir else default_data_dir()) / manifest
    raw, rows, bad = read_manifest(path)
    x = _images(path, rows, raw, bad, image_size)
    classes = tuple(sorted({r.label for r in rows}))
    index = {c: i for i, c in enumerate(classes)}
    y = torch.tensor([index[r.label] for r in rows], dtype=torch.int64)
    splits = {}
    for part in ORDER:
        idx = torch.tensor([i for i, r in enumerate(rows) if r.partition == part], dtype=torch.int64)
        splits[part] = Split(x[idx], y[idx])
    for part in ("train", "test"):
        if not len(splits[part]):
            raise DataError(f"{path}: no rows with partition {part!r}; train and test need at least one image each")
    mean, std = _mean_std(splits["train"].x)
    sizes = " / ".join(f"{len(splits[p])} {p}" for p in ORDER)
    meta = DataMeta(
        "manifest", f"manifest:{manifest}:{image_size}x{image_size}", (3, image_size, image_size), classes, mean, std,
        notes=(f"{sizes} images listed in {path}",),
    )
    val = splits["valid"] if len(splits["valid"]) else None  # else carved from train by trial_splits
    return DataBundle(splits["train"], splits["test"], meta, val=val)
