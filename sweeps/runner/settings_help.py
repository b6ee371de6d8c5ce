"""The keys `--set` accepts for one sweep, with their current values: the end of its --help."""
from __future__ import annotations

import inspect
import json
import textwrap
from dataclasses import fields
from typing import Any

from data_modules.base import OPTION_HELP
from models import list_models, model_arguments
from sweeps.runner.spec import Sweep
from trainables.config import DATA_DERIVED_MODEL_ARGS, TrainConfig

WIDTH = 100


def _value(v: Any) -> str:
    """As --set parses it: JSON for numbers, lists, true/false/null; strings as they are."""
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


def _line(title: str, items: dict[str, Any]) -> str:
    """Wrapped between KEY=VALUE items and at spaces only: never inside a value (lstm_large) or at its hyphens."""
    text = " ".join(f"{k}={_value(v)}" for k, v in sorted(items.items()))
    return textwrap.fill(text, WIDTH, initial_indent=f"  {title}: ", subsequent_indent=" " * 4,
                         break_long_words=False, break_on_hyphens=False)


def _models(sweep: Sweep) -> list[str]:
    """The models the sweep trains: swept, fixed, or named by its presets."""
    names = list(sweep.grid.get("model", [sweep.fixed["model"]] if "model" in sweep.fixed else []))
    names += [s["model"] for table in sweep.presets.values() for s in table.values() if "model" in s]
    return [n for n in dict.fromkeys(names or [TrainConfig.model]) if n in list_models()]


def accepted_keys(sweep: Sweep) -> set[str]:
    """Every key this sweep's trials take: its axes, the training settings, its models' arguments,
    its data and sampling settings (what --set and --base-from may set)."""
    keys = {*sweep.grid, *(f.name for f in fields(TrainConfig)), *sweep.data, *sweep.data_axes, *sweep.sample}
    for name in _models(sweep):
        keys |= {k for k in model_arguments(name) if k not in DATA_DERIVED_MODEL_ARGS}
    return keys


def set_keys_help(sweep: Sweep) -> str:
    """Every key --set accepts for this sweep, grouped, with the value the sweep uses."""
    fixed = sweep.settings
    from_presets = {k for table in sweep.presets.values() for settings in table.values() for k in settings}
    lines = ["--set KEY=VALUE accepts these keys (values as this sweep sets them):"]
    lines.append(_line("swept (comma-separated values replace the grid)",
                       {k: ",".join(map(_value, v)) for k, v in sweep.grid.items()}))
    train = {f.name: fixed.get(f.name, f.default) for f in fields(TrainConfig) if f.name not in sweep.grid}
    lines.append(_line("training", {k: v for k, v in train.items() if k not in from_presets}))
    for name in _models(sweep):
        params = {k: p.default for k, p in model_arguments(name).items()
                  if k not in DATA_DERIVED_MODEL_ARGS and k not in sweep.grid and k not in from_presets}
        if params:  # a model whose every argument comes from a preset has no line
            lines.append(_line(f"model {name}", {k: fixed.get(k, "" if v is inspect.Parameter.empty else v)
                                                  for k, v in params.items()}))
    for axis, table in sweep.presets.items():
        keys = sorted({k for settings in table.values() for k in settings})
        lines.append(f"  set by {axis}: {', '.join(keys)}")
    data = {**sweep.data, **{k: fixed[k] for k in sweep.data_axes if k in fixed and k not in sweep.grid}}
    if data:
        lines.append(_line("data", data))
        for key, text in OPTION_HELP.get(sweep.dataset, {}).items():  # how a left-out option is chosen
            if key in data:
                lines.append(textwrap.fill(f"{key}: {text}", WIDTH, initial_indent=" " * 4, subsequent_indent=" " * 6,
                                           break_long_words=False, break_on_hyphens=False))
    if sweep.sample:
        lines.append(_line("sampled text in the report", sweep.sample))
    return "\n".join(lines)
