"""A small keyed cache of this machine's measurements, one JSON file beside the data folder
(DATA_DIR/../NAME.json, with calibration.json and phases.json): what a run measured once and the
next run reads instead of measuring again. The latest `kept` keys stay; an unreadable file is an
empty cache, and a read-only home measures again next time.

    FLOPS = MachineCache("flops", kept=2000)
    FLOPS.get(key); FLOPS.put(key, value); FLOPS.forget()
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from data_modules.atomic import write_text_atomically
from data_modules.download import default_data_dir


class MachineCache:
    def __init__(self, name: str, kept: int):
        self.name, self.kept = name, kept
        self._loaded: tuple[Path, dict[str, Any]] | None = None  # read once per process and folder

    def path(self) -> Path:
        return default_data_dir().parent / f"{self.name}.json"

    def entries(self) -> dict[str, Any]:
        path = self.path()
        if self._loaded is None or self._loaded[0] != path:
            try:
                raw = json.loads(path.read_text())
                entries = raw if isinstance(raw, dict) else {}
            except (OSError, ValueError):
                entries = {}
            self._loaded = (path, entries)
        return self._loaded[1]

    def get(self, key: str) -> Any:
        return self.entries().get(key)

    def put(self, key: str, value: Any) -> None:
        entries = self.entries()
        entries.pop(key, None)
        entries[key] = value
        kept = dict(list(entries.items())[-self.kept:])
        self._loaded = (self.path(), kept)
        try:
            write_text_atomically(self.path(), json.dumps(kept, indent=0))
        except OSError:
            pass

    def forget(self) -> None:
        self._loaded = None
        try:
            self.path().unlink(missing_ok=True)
        except OSError:
            pass
