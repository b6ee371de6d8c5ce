"""Where a run's results go: its folder in --storage-path (the sweep's name or --name, numbered
-2, -3... if taken), the path Tune writes to, and the local folder where the tables, plots and
report are made. For a local folder (or shared mount) that is the run folder itself; for a URI
(s3://, gs://, file://) it is a staging copy that analysis.results.storage fills and uploads from."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from analysis.results import storage
from analysis.results.arguments import UsageError
from analysis.results.storage import Store
from sweeps.runner.spec import Sweep

RECORD = ("sweeplab_run.json",)


@dataclass(frozen=True)
class RunPlace:
    """One run's results: `name` inside `storage`; `local` is where finishing writes."""

    storage: str  # --storage-path: a local folder (absolute) or a URI
    name: str
    store: Store | None = None  # the URI's filesystem, None for a local folder

    @property
    def local(self) -> Path:
        if self.store is None:
            return Path(self.storage) / self.name
        digest = hashlib.sha1(self.storage.encode()).hexdigest()[:10]
        return Path(tempfile.gettempdir()) / "sweeplab-staging" / digest / self.name

    @property
    def tune_path(self) -> str:
        """The run folder as Tune takes it (storage_path + name, or Tuner.restore's path)."""
        return self.store.uri_of(self.name) if self.store else str(self.local)

    def shown(self, file: str = "") -> str:
        """Where the user finds the run (or one of its files)."""
        return f"{self.tune_path}/{file}" if file else self.tune_path


def check_place(storage_path: str, name: str | None) -> None:
    """Refuse, before data or Ray start, a --name that leaves the results root and a local
    --storage-path where no folder can be written (a file, under a file, /proc, /sys, read-only):
    Tune found those only once the sweep had started, with a traceback. A URI is checked by its
    store when the run opens it. Nothing is left behind: the run folder is made when the run starts."""
    if name is not None:
        check_name(name, storage_path)
    if not storage.is_uri(storage_path):
        check_writable(storage_path)


def check_name(name: str, storage_path: str) -> None:
    """--name is one folder inside --storage-path: no separator, no '..', not absolute. The
    refusal gives the flags that name the place meant (a local one)."""
    if name not in ("", ".", "..") and "/" not in name and "\\" not in name:
        return
    hint = ""
    if name.strip("/\\.") and not storage.is_uri(storage_path):  # a path: the flags that name it
        meant = (Path(storage_path).expanduser().absolute() / name.replace("\\", "/")).resolve()
        hint = f"; for {meant}: --storage-path {meant.parent} --name {meant.name}"
    raise UsageError(f"--name {name!r} is not allowed: the run's folder must stay inside --storage-path; allowed: "
                     f"one folder name without '/' or '..'{hint}")


def check_writable(storage_path: str) -> None:
    """The folder exists and takes a new folder, or its nearest existing parent does."""
    path = Path(storage_path).expanduser().absolute()
    allowed = ("allowed: a folder this user can write (made when missing), or a URI: "
               + ", ".join(f"{s}://" for s in storage.SCHEMES))
    try:
        existing = next(p for p in (path, *path.parents) if os.path.lexists(p))
        if not existing.is_dir():
            where = "is a file" if existing == path else f"is under {existing}, a file"
            raise UsageError(f"--storage-path {storage_path} {where}, not a folder; {allowed}")
        os.rmdir(tempfile.mkdtemp(prefix=".sweeplab-write-test-", dir=existing))
    except OSError as e:
        raise UsageError(f"--storage-path {storage_path}: no folder can be made in {existing} "
                         f"({e.strerror or e}); {allowed}") from None


def root_of(storage_path: str) -> tuple[str, Store | None]:
    if storage.is_uri(storage_path):
        try:
            store = Store.of(storage_path)
        except storage.StorageError as e:
            raise UsageError(f"--storage-path {e}") from None
        return store.uri, store
    return str(Path(storage_path).expanduser().resolve()), None


def folder_names(root: str, store: Store | None) -> list[str]:
    if store is not None:
        return store.folders()
    return sorted(p.name for p in Path(root).glob("*") if p.is_dir())


def new_place(sweep: Sweep, args) -> RunPlace:
    """A new run's place: the sweep's name (or --name), numbered if taken."""
    root, store = root_of(args.storage_path)
    base = args.name or sweep.name
    names = folder_names(root, store)
    name = base if base not in names else f"{base}-{_number(numbered(names, base)[-1], base) + 1}"
    return RunPlace(root, name, store)


def resume_place(sweep: Sweep, args) -> RunPlace:
    """The run --resume continues: --name, else the sweep's latest; its record is fetched."""
    root, store = root_of(args.storage_path)
    names = folder_names(root, store)
    taken = numbered(names, sweep.name)
    place = RunPlace(root, args.name or (taken[-1] if taken else sweep.name), store)
    if not resumable(place):
        found = [n for n in names if resumable(RunPlace(root, n, store))] if len(names) < 50 else []
        raise UsageError(f"--resume: no sweep to resume at {place.shown()}; sweeps that can be resumed in {root}: "
                         f"{', '.join(found) or 'none'}")
    if store is None:
        check_tune_state(place.local)
    else:
        storage.pull(store, place.name, place.local, patterns=RECORD, checkpoints=False)
    return place


def check_tune_state(run_dir: Path) -> None:
    """Refuse, in one line, a run whose newest Tune state files are cut short: Tune copies them
    to the results folder in the background, and a driver killed during that copy leaves an
    empty file, from which Tune would silently start an empty experiment instead of resuming."""
    for pattern in ("experiment_state-*.json", "*-state-*.json"):
        newest = max(run_dir.glob(pattern), default=None)
        if newest is not None and newest.stat().st_size == 0:
            raise UsageError(f"--resume: {newest} is empty (the sweep's driver died while Tune was saving it), so "
                             f"{run_dir} cannot be resumed; allowed: run the sweep again without --resume")


def resumable(place: RunPlace) -> bool:
    from ray.tune import Tuner

    return Tuner.can_restore(place.tune_path)


def numbered(names: list[str], base: str) -> list[str]:
    """base, base-2, base-3... among `names`, in order."""
    return sorted((n for n in names if _numbered(n, base)), key=lambda n: _number(n, base))


def _numbered(name: str, base: str) -> bool:
    return name == base or (name.startswith(base + "-") and name[len(base) + 1:].isdigit())


def _number(name: str, base: str) -> int:
    return 1 if name == base else int(name[len(base) + 1:])
