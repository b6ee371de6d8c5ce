"""A post-hoc study's tables as they accumulate over its runs. Each run (the sweep's own, one
checkpoint, --trials ID, other options) merges into RESULTS_DIR/posthoc/NAME*.parquet, replacing
only the rows of the trials it ran with the same options: a study of one trial never drops the
rows of the others. Every row carries its run's options (those that differ from the study's
defaults) in the `options` column; figures and report show each option set as a group of its
own, the one covering the most trials first.

    key = options_key(study, {"eps": "0,0.1", "images": 200}, selection)   # "eps=0,0.1 images=200"
    merged = merge(old_frames, new_frames, study.keys, trial_order(results_dir))
    for group in option_groups(merged, study): group.key, group.frames, group.trials
"""
from __future__ import annotations

import hashlib
import inspect
import re
from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd

Frames = dict[str, pd.DataFrame]  # as analysis.results.sections: file stem -> table

OPTIONS = "options"  # the column holding each row's options key
DEFAULTS = "defaults"  # the key of a run with the study's own defaults
SLUG_CHARS = 60  # an option group's figure folder name, at most (a hash keeps longer ones apart)


def _text(value: Any) -> str:
    """One spelling of an option's value, whether it came from a flag or a declaration:
    "0,0.1", (0, 0.1) and [0.0, 0.1] all read "0,0.1"; 200 and "200" read "200"."""
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    if isinstance(value, str):
        if "," in value:
            return _text([v.strip() for v in value.split(",")])
        try:
            return _text(float(value))
        except ValueError:
            return value
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)) or hasattr(value, "item"):
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    return str(value)


def options_key(study: Any, options: Mapping[str, Any], selection: Any = None) -> str:
    """For a sections.Study and a trial_models.Selection: the run's options that differ from the defaults of study.run, in its signature's order
    ("defaults" when none does); a joint study (one fit over all its trials) run on a subset adds
    the trial ids, since its rows only mean something beside those of the same trials."""
    params = list(inspect.signature(study.run).parameters.values())[1:]
    defaults = {p.name: p.default for p in params}
    names = [*defaults, *sorted(k for k in options if k not in defaults)]
    parts = [f"{k}={_text(options[k])}" for k in names if k in options and k not in study.ignored_options
             and _text(options[k]) != _text(defaults.get(k, inspect.Parameter.empty))]
    if study.joint and selection is not None and selection.which != "all":
        parts.append("trials=" + ",".join(ref.trial_id for ref in selection.trials))
    return " ".join(parts) or DEFAULTS


def _row_keys(df: pd.DataFrame, columns: list[str]) -> list[tuple[str, ...]]:
    return [tuple(row) for row in df[columns].astype(str).to_numpy()]


def _merge_one(old: pd.DataFrame | None, new: pd.DataFrame | None, keys: tuple[str, ...],
               order: Mapping[str, int]) -> pd.DataFrame:
    if old is None or old.empty:
        return new
    if new is None:
        return old
    columns = [c for c in keys if c in old and c in new] + [OPTIONS]
    replaced = set(_row_keys(new, columns))
    kept = old[[k not in replaced for k in _row_keys(old, columns)]]
    if kept.empty:
        return new.reset_index(drop=True)
    both = pd.concat([kept, new], ignore_index=True)
    group = {key: i for i, key in enumerate(dict.fromkeys(both[OPTIONS]))}
    first = next((c for c in keys if c in both), None)
    trial = both[first].map(lambda t: order.get(str(t), len(order))) if first else 0
    ranked = both.assign(_group=both[OPTIONS].map(group), _trial=trial)
    return ranked.sort_values(["_group", "_trial"], kind="stable").drop(columns=["_group", "_trial"]).reset_index(drop=True)


def merge(old: Frames, new: Frames, keys: tuple[str, ...], order: Mapping[str, int]) -> Frames:
    """`old` with the rows of `new` in place of those with the same key columns and options; rows
    in option groups by first appearance, each in the sweep's trial `order` (trial_models.trial_order)."""
    return {stem: _merge_one(old.get(stem), new.get(stem), keys, order) for stem in dict.fromkeys([*old, *new])}


@dataclass(frozen=True)
class OptionGroup:
    key: str
    frames: dict[str, pd.DataFrame]  # the study's tables, this group's rows only, no options column
    trials: int  # how many trials (or pairs) it covers

    @property
    def heading(self) -> str:
        what = "the study's defaults" if self.key == DEFAULTS else self.key
        return f"Options: {what} ({self.trials} trial{'s' if self.trials != 1 else ''})"

    @property
    def slug(self) -> str:
        """A folder name for the group's figures."""
        text = re.sub(r"[^A-Za-z0-9.,=_-]+", "_", self.key)
        if len(text) <= SLUG_CHARS:
            return text
        return f"{text[:SLUG_CHARS]}-{hashlib.sha1(self.key.encode()).hexdigest()[:8]}"


def option_groups(frames: Frames, name: str, keys: tuple[str, ...]) -> list[OptionGroup]:
    """The option groups of a study's tables (main table `name`), the one covering the most
    trials first (ties: the one written first)."""
    main = frames[name]
    columns = [c for c in keys if c in main]
    found = []
    for key in dict.fromkeys(main[OPTIONS]):
        part = main[main[OPTIONS] == key]
        trials = len(set(_row_keys(part, columns))) if columns else 1
        found.append(OptionGroup(key, {stem: df[df[OPTIONS] == key].drop(columns=OPTIONS).reset_index(drop=True)
                                       for stem, df in frames.items()}, trials))
    return sorted(found, key=lambda g: -g.trials)
