"""The source's numbers beside ours: each Reference of a sweep (analysis.results.claims) checked against
the results table, with a verdict. Parquet in, a small table out; nothing here trains.

    table = check_references(results, SWEEP.references)   # one row per reference
    table = check_sweep(results, meta)                      # with the run's unit and full lengths (SweepMeta)

A reference whose epoch (or step) the run never reached, or one about the end of training in a
run shorter than the sweep's own length (a smoke test, --max-epochs), is "not checked": its
number was never measured, so it counts neither way in the scorecard.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd

from analysis.results.claims import Reference
from analysis.results.numbers import fmt_number
from analysis.results.stats import mean_ci, ranked, trial_label
from analysis.results.sweep_meta import SweepMeta
from models.registry import Registry
from trainables import metrics as M

COLUMNS = ("claim", "source", "ours", "difference", "verdict", "differs")
REPRODUCED, NOT_REPRODUCED, NO_DATA = "reproduced", "not reproduced", "no data"
NOT_CHECKED = "not checked"  # the verdict's start when the run stopped before the reference's epoch


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


def mean_text(values: pd.Series) -> tuple[float, str]:
    """(mean, "0.912 ± 0.004 (n=2)") of per-trial values; (NaN, "no matching trials") when empty."""
    mean, half, n = mean_ci(values)
    if n == 0:
        return math.nan, "no matching trials"
    spread = f" ± {fmt_number(half)}" if not math.isnan(half) else ""
    return mean, f"{fmt_number(mean)}{spread} (n={n})"


def _value(ref: Reference, results: pd.DataFrame, test: Callable[[float], bool]):
    mean, text = mean_text(per_trial(matching(results, ref.where), ref.metric, ref.epoch))
    if math.isnan(mean):
        return text, "", None
    return text, fmt_number(mean - ref.value, sign=True), test(mean)


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
        return f"not reached (best {fmt_number(curve.max())})", "", False
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
        text = " -> ".join(fmt_number(v) for v in curve)
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
    return f"R² {r2:.3f}, slope {fmt_number(slope)} per unit", "", r2 >= ref.tolerance


def _other_rows(ref, results) -> pd.DataFrame:
    """The rows a comparison sets ours against: `than`, or `where` itself when `than` names an epoch."""
    than = {k: v for k, v in ref.than.items() if k != M.EPOCH}
    return matching(results, {**ref.where, **than} if M.EPOCH in ref.than else than)


def _compare(sign: int):
    """Ours at `where` against ours at `than`; an "epoch" in `than` compares with that epoch
    (e.g. the last epoch against epoch 150: still rising at the end)."""
    def check(ref, results):
        mine, mine_text = mean_text(per_trial(matching(results, ref.where), ref.metric, ref.epoch))
        other, other_text = mean_text(per_trial(_other_rows(ref, results), ref.metric, ref.than.get(M.EPOCH, ref.epoch)))
        if math.isnan(mine) or math.isnan(other):
            return "no matching trials", "", None
        return f"{mine_text} vs {other_text}", fmt_number(mine - other, sign=True), (mine - other) * sign > 0
    return check


def _each_near(ref, results):
    """Every matching trial's value (not only their mean) within value ± tolerance."""
    values = per_trial(matching(results, ref.where), ref.metric, ref.epoch)
    if values.empty:
        return "no matching trials", "", None
    inside = ((values - ref.value).abs() <= _tol(ref)).sum()
    return (f"{fmt_number(values.min())} .. {fmt_number(values.max())} ({inside} of {len(values)} inside)", "",
            bool(inside == len(values)))


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
    best = ranked(last, ref.metric, M.MODES.get(ref.metric, "max"), by=keys).iloc[0]  # the report's tie-break
    found = {k: best[k] for k in keys}
    text = trial_label(found, sep=", ") + f" ({fmt_number(best['mean'])})"
    return text, "", all(str(found[k]) == str(ref.where[k]) for k in keys)


def _best_at_least(ref, results):
    """The best matching trial (not the mean) reaches `value`: what a search finds."""
    values = per_trial(matching(results, ref.where), ref.metric, ref.epoch)
    if values.empty:
        return "no matching trials", "", None
    best = values.max()
    return f"{fmt_number(best)} (best of {len(values)})", fmt_number(best - ref.value, sign=True), best >= ref.value - _tol(ref)


CHECKS: Registry[Callable[[Reference, pd.DataFrame], tuple[str, str, bool | None]]] = Registry("check", {
    "near": _near, "at_least": _at_least, "at_most": _at_most, "reaches": _reaches,
    "increasing": _monotone(+1), "decreasing": _monotone(-1), "linear": _linear,
    "less_than": _compare(-1), "greater_than": _compare(+1), "each_near": _each_near, "best": _best,
    "best_at_least": _best_at_least,
})


def _rows_used(ref: Reference, results: pd.DataFrame) -> pd.DataFrame:
    """The rows a check reads: `where`'s, both sides of a comparison, every ranked trial of a best."""
    if ref.check in ("less_than", "greater_than"):
        return pd.concat([matching(results, ref.where), _other_rows(ref, results)])
    if ref.check == "best":
        return matching(results, {k: v for k, v in ref.where.items() if k != ref.along}) if ref.along else results
    return matching(results, ref.where)


def _count(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else fmt_number(value)


def _full_lengths(trials: pd.DataFrame, full_length) -> pd.Series:
    """Each trial's full training length by the sweep's (where, length) rules, the first match winning."""
    out = pd.Series(np.nan, index=trials.index)
    for where, length in reversed(tuple(full_length)):
        out[matching(trials, where).index] = length
    return out


def stopped_short(ref: Reference, results: pd.DataFrame, unit: str = "epoch", full_length=()) -> str:
    """Why the run cannot check `ref`: it stopped before the reference's epoch (or step), or, for
    a value at the end of training, its trials were set shorter than the sweep's full length
    (SweepMeta.full_length: a smoke test, --max-epochs); "" when the run got there."""
    rows = _rows_used(ref, results)
    if rows.empty or M.EPOCH not in rows or M.TRIAL_ID not in rows:
        return ""
    needed = [e for e in (ref.epoch, ref.than.get(M.EPOCH)) if e is not None]
    reached = rows[M.EPOCH].max()
    if needed and reached < max(needed):
        return f"run stopped at {unit} {_count(reached)}; the source's value is at {unit} {_count(max(needed))}"
    length = "max_steps" if unit == "step" else "max_epochs"
    if ref.epoch is not None or ref.check == "reaches" or length not in rows or not full_length:
        return ""
    done = M.STEP if unit == "step" and M.STEP in rows else M.EPOCH
    keys = {length, *(k for where, _ in full_length for k in where if k in rows)}
    trials = rows.groupby(M.TRIAL_ID).agg({**{k: "first" for k in keys}, done: "max"})
    full = _full_lengths(trials, full_length)
    short = trials[pd.to_numeric(trials[length], errors="coerce") < full]
    if short.empty:
        return ""
    return (f"run stopped at {unit} {_count(short[done].max())} of the sweep's {_count(full[short.index].max())}; "
            "the source's value is at the end of training")


def source_text(ref: Reference, unit: str = "epoch") -> str:
    if ref.check in ("near", "each_near"):
        return f"{ref.value:.4g} ({'each ' if ref.check == 'each_near' else ''}±{ref.tolerance:.2g})"
    if ref.check in ("at_least", "at_most", "best_at_least"):  # "≥ 0.5", or "≥ 0.5 (less 0.02 allowed)"
        bound = {"at_least": "≥", "at_most": "≤", "best_at_least": "best ≥"}[ref.check]
        slack = f" ({'less' if ref.check != 'at_most' else 'more'} {ref.tolerance:.2g} allowed)" if ref.tolerance else ""
        return f"{bound} {ref.value:.4g}{slack}"
    if ref.check == "best":
        return "best: " + trial_label(ref.where, sep=", ")
    if ref.check == "reaches":
        return f"{ref.value:.4g} by {unit} {_count(ref.epoch)}"
    return {"linear": f"linear (R² ≥ {ref.tolerance:g})", "less_than": "lower", "greater_than": "higher"}.get(ref.check, ref.check)


def check_references(results: pd.DataFrame, references: Sequence[Reference], unit: str = "epoch",
                     full_length=()) -> pd.DataFrame:
    """One row per reference: claim, the source's value, ours, the difference, the verdict.
    `unit` and `full_length` (SweepMeta's) tell a run that stopped short: its verdict is "not
    checked (why)", except a race it won before it stopped (reaches)."""
    rows = []
    for ref in references:
        ours, difference, ok = CHECKS[ref.check](ref, results)
        short = stopped_short(ref, results, unit, full_length)
        if short and not (ref.check == "reaches" and ok):
            verdict, difference = f"{NOT_CHECKED} ({short})", ""
        else:
            verdict = NO_DATA if ok is None else (REPRODUCED if ok else NOT_REPRODUCED)
        rows.append(dict(zip(COLUMNS, (ref.claim, source_text(ref, unit), ours, difference, verdict,
                                       differs_text(ref, results)))))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def differs_text(ref: Reference, results: pd.DataFrame) -> str:
    """`differs`, with the notes of `differs_by_variant` for the data variants this run's rows have."""
    variants = results[M.VARIANT].dropna().unique() if M.VARIANT in results else []
    notes = [text.format(variant=v) for v in sorted(map(str, variants)) for key, text in ref.differs_by_variant.items()
             if v == key or (key.endswith(":") and v.startswith(key))]
    return "; ".join(dict.fromkeys(t for t in [ref.differs, *notes] if t))


def check_sweep(results: pd.DataFrame, meta: SweepMeta) -> pd.DataFrame:
    """check_references with the sweep's own references, unit and full lengths."""
    return check_references(results, meta.references, meta.unit, meta.full_length)


class Score(NamedTuple):
    reproduced: int
    checked: int
    """References with a verdict either way."""
    not_checked: int
    """No matching data, or a run that stopped before the reference's epoch."""


def scorecard(table: pd.DataFrame) -> Score:
    """What a table of verdicts counts: only the references checked either way enter the score."""
    verdicts = table["verdict"]
    checked = verdicts.isin((REPRODUCED, NOT_REPRODUCED))
    return Score(int((verdicts == REPRODUCED).sum()), int(checked.sum()), int((~checked).sum()))


def score_text(score: Score) -> str:
    """"3 of 4 (1 not checked)": how the curriculum index and the list of runs print a scorecard."""
    return f"{score.reproduced} of {score.checked}" + (f" ({score.not_checked} not checked)" if score.not_checked else "")


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
