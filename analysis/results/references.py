"""The source's numbers beside ours: each Reference of a sweep (analysis.results.claims) checked against
the results table, with a verdict. Parquet in, a small table out; nothing here trains.

    table = check_references(results, SWEEP.references)   # one row per reference
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.results.claims import Reference
from analysis.results.stats import mean_ci, trial_label
from models.registry import Registry
from trainables import metrics as M

COLUMNS = ("claim", "source", "ours", "difference", "verdict", "differs")
REPRODUCED, NOT_REPRODUCED, NO_DATA = "reproduced", "not reproduced", "no data"



def _tol(ref) -> float:
    """The tolerance plus rounding: 1.0 against 0.995 ± 0.005 is within it, though 1 - 0.995 is
    0.0050000000000000044 in floating point."""
    return ref.tolerance + 1e-9

def matching(results: pd.DataFrame, where: Mapping[str, Any]) -> pd.DataFrame:
    """Rows whose settings equal `where` (lists compare as the tables store them: 128-64)."""
    mask = pd.Series(True, index=results.index)
    for key, value in where.items():
        if key not in results:
            return results.iloc[0:0]
        cell = "-".join(map(str, value)) if isinstance(value, (list, tuple)) else value
        column = results[key]
        mask &= column.astype(str) == str(cell) if isinstance(cell, str) else np.isclose(pd.to_numeric(column, errors="coerce"), cell)
    return results[mask]


def per_trial(rows: pd.DataFrame, metric: str, epoch: int | None) -> pd.Series:
    """Each trial's value of `metric` at `epoch` (its last row when None)."""
    if rows.empty or metric not in rows:
        return pd.Series(dtype=float)
    if epoch is not None:
        rows = rows[rows[M.EPOCH] == epoch]
    last = rows.sort_values(M.EPOCH).groupby(M.TRIAL_ID).tail(1)
    return pd.to_numeric(last[metric], errors="coerce").dropna()


def _summary(values: pd.Series) -> tuple[float, str]:
    mean, half, n = mean_ci(values)
    if n == 0:
        return math.nan, "no matching trials"
    spread = f" ± {half:.4g}" if not math.isnan(half) else ""
    return mean, f"{mean:.4g}{spread} (n={n})"


def _value(ref: Reference, results: pd.DataFrame, test: Callable[[float], bool]):
    mean, text = _summary(per_trial(matching(results, ref.where), ref.metric, ref.epoch))
    if math.isnan(mean):
        return text, "", None
    return text, f"{mean - ref.value:+.4g}", test(mean)


def _near(ref, results):
    return _value(ref, results, lambda m: abs(m - ref.value) <= _tol(ref))


def _at_least(ref, results):
    return _value(ref, results, lambda m: m >= ref.value - _tol(ref))


def _at_most(ref, results):
    return _value(ref, results, lambda m: m <= ref.value + _tol(ref))


def _reaches(ref, results):
    """The first epoch at which the mean over seeds reaches `value` is no later than `epoch`."""
    rows = matching(results, ref.where)
    if rows.empty or ref.metric not in rows:
        return "no matching trials", "", None
    curve = rows.groupby(M.EPOCH)[ref.metric].mean().sort_index()
    reached = curve[curve >= ref.value - _tol(ref)]
    if reached.empty:
        return f"not reached (best {curve.max():.4g})", "", False
    first = int(reached.index[0])
    return f"epoch {first}", f"{first - ref.epoch:+d} epochs", first <= ref.epoch


def _along(ref, results) -> pd.Series:
    """Mean of each trial's value per value of the swept setting, in the setting's order."""
    rows = matching(results, ref.where)
    if rows.empty or ref.along not in rows or ref.metric not in rows:
        return pd.Series(dtype=float)
    if ref.epoch is not None:
        rows = rows[rows[M.EPOCH] == ref.epoch]
    last = rows.sort_values(M.EPOCH).groupby(M.TRIAL_ID).tail(1)
    return last.groupby(ref.along)[ref.metric].mean().sort_index()


def _monotone(sign: int):
    def check(ref, results):
        curve = _along(ref, results)
        if len(curve) < 2:
            return "fewer than two values", "", None
        steps = np.diff(curve.to_numpy()) * sign
        text = " -> ".join(f"{v:.4g}" for v in curve)
        return text, "", bool((steps >= -ref.tolerance).all())
    return check


def _linear(ref, results):
    curve = _along(ref, results)
    if len(curve) < 3:
        return "fewer than three values", "", None
    x, y = np.asarray(curve.index, dtype=float), curve.to_numpy(dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    residual = ((y - (slope * x + intercept)) ** 2).sum()
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1.0 - residual / total if total > 0 else 1.0
    return f"R² {r2:.3f}, slope {slope:.4g} per unit", "", r2 >= ref.tolerance


def _compare(sign: int):
    """Ours at `where` against ours at `than`; an "epoch" in `than` compares with that epoch
    (e.g. the last epoch against epoch 150: still rising at the end)."""
    def check(ref, results):
        than = {k: v for k, v in ref.than.items() if k != M.EPOCH}
        mine, mine_text = _summary(per_trial(matching(results, ref.where), ref.metric, ref.epoch))
        other, other_text = _summary(per_trial(matching(results, {**ref.where, **than}) if M.EPOCH in ref.than else
                                               matching(results, than), ref.metric, ref.than.get(M.EPOCH, ref.epoch)))
        if math.isnan(mine) or math.isnan(other):
            return "no matching trials", "", None
        return f"{mine_text} vs {other_text}", f"{mine - other:+.4g}", (mine - other) * sign > 0
    return check


def _each_near(ref, results):
    """Every matching trial's value (not only their mean) within value ± tolerance."""
    values = per_trial(matching(results, ref.where), ref.metric, ref.epoch)
    if values.empty:
        return "no matching trials", "", None
    inside = ((values - ref.value).abs() <= _tol(ref)).sum()
    return f"{values.min():.4g} .. {values.max():.4g} ({inside} of {len(values)} inside)", "", bool(inside == len(values))


def _best(ref, results):
    """The configuration with the best mean (by the metric's mode) over the settings named in
    `where` is `where` itself; with `along`, the best value of that axis among the trials that
    share the rest of `where` (the best char variant: along the variant, tokens=char)."""
    keys = [ref.along] if ref.along else list(ref.where)
    if not keys or any(k not in results for k in keys) or ref.metric not in results:
        return "no matching trials", "", None
    if ref.along:
        results = matching(results, {k: v for k, v in ref.where.items() if k != ref.along})
    if ref.epoch is not None:
        results = results[results[M.EPOCH] == ref.epoch]
    if results.empty:
        return "no matching trials", "", None
    last = results.sort_values(M.EPOCH).groupby(M.TRIAL_ID).tail(1)
    means = last.groupby(keys)[ref.metric].mean()
    best = means.idxmax() if M.MODES.get(ref.metric, "max") == "max" else means.idxmin()
    best = best if isinstance(best, tuple) else (best,)
    found = dict(zip(keys, best))
    text = trial_label(found, sep=", ") + f" ({means.max() if M.MODES.get(ref.metric, 'max') == 'max' else means.min():.4g})"
    return text, "", all(str(found[k]) == str(ref.where[k]) for k in keys)


def _best_at_least(ref, results):
    """The best matching trial (not the mean) reaches `value`: what a search finds."""
    values = per_trial(matching(results, ref.where), ref.metric, ref.epoch)
    if values.empty:
        return "no matching trials", "", None
    best = values.max()
    return f"{best:.4g} (best of {len(values)})", f"{best - ref.value:+.4g}", best >= ref.value - _tol(ref)


CHECKS: Registry[Callable[[Reference, pd.DataFrame], tuple[str, str, bool | None]]] = Registry("check", {
    "near": _near, "at_least": _at_least, "at_most": _at_most, "reaches": _reaches,
    "increasing": _monotone(+1), "decreasing": _monotone(-1), "linear": _linear,
    "less_than": _compare(-1), "greater_than": _compare(+1), "each_near": _each_near, "best": _best,
    "best_at_least": _best_at_least,
})


def source_text(ref: Reference) -> str:
    if ref.check in ("near", "each_near"):
        return f"{ref.value:.4g} ({'each ' if ref.check == 'each_near' else ''}±{ref.tolerance:.2g})"
    if ref.check in ("at_least", "at_most", "best_at_least"):  # "≥ 0.5", or "≥ 0.5 (less 0.02 allowed)"
        bound = {"at_least": "≥", "at_most": "≤", "best_at_least": "best ≥"}[ref.check]
        slack = f" ({'less' if ref.check != 'at_most' else 'more'} {ref.tolerance:.2g} allowed)" if ref.tolerance else ""
        return f"{bound} {ref.value:.4g}{slack}"
    if ref.check == "best":
        return "best: " + trial_label(ref.where, sep=", ")
    if ref.check == "reaches":
        return f"{ref.value:.4g} by epoch {ref.epoch}"
    return {"linear": f"linear (R² ≥ {ref.tolerance:g})", "less_than": "lower", "greater_than": "higher"}.get(ref.check, ref.check)


def check_references(results: pd.DataFrame, references: Sequence[Reference]) -> pd.DataFrame:
    """One row per reference: claim, the source's value, ours, the difference, the verdict."""
    rows = []
    for ref in references:
        ours, difference, ok = CHECKS[ref.check](ref, results)
        verdict = NO_DATA if ok is None else (REPRODUCED if ok else NOT_REPRODUCED)
        rows.append(dict(zip(COLUMNS, (ref.claim, source_text(ref), ours, difference, verdict, ref.differs))))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def scorecard(table: pd.DataFrame) -> tuple[int, int]:
    """(reproduced, checked): references with a verdict either way, of which reproduced."""
    checked = table[table["verdict"] != NO_DATA]
    return int((checked["verdict"] == REPRODUCED).sum()), len(checked)


def check_declaration(references: Sequence[Reference]) -> list[str]:
    """Problems with a sweep's references that need no results: unknown checks, missing values."""
    problems = []
    for ref in references:
        if ref.check not in CHECKS:
            problems.append(f"{ref.claim!r}: check {ref.check!r} is not one of {', '.join(CHECKS)}")
        if ref.check in ("near", "at_least", "at_most", "reaches", "each_near", "best_at_least") and ref.value is None:
            problems.append(f"{ref.claim!r}: a {ref.check} check needs a value")
        if ref.check in ("increasing", "decreasing", "linear") and not ref.along:
            problems.append(f"{ref.claim!r}: a {ref.check} check needs `along`")
        if ref.check in ("less_than", "greater_than") and not ref.than:
            problems.append(f"{ref.claim!r}: a {ref.check} check needs `than`")
        if ref.check == "best" and not ref.where:
            problems.append(f"{ref.claim!r}: a best check needs `where`")
        if ref.check == "reaches" and ref.epoch is None:
            problems.append(f"{ref.claim!r}: a reaches check needs an epoch")
    return problems
