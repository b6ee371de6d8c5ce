"""What a source reported, as a sweep declares it: a Reference names the claim, the metric, the
configuration and the check; analysis.results.references checks each one against a results
table. Kept free of pandas, so that a declaration imports in milliseconds."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Reference:
    """One result the source experiment reported, checked against this run's results table.

    A value (`check` near, at_least or at_most, with `value` and `tolerance`; each_near: every
    matching trial, not only their mean), a race (reaches: `metric` >= `value` by `epoch`), a
    shape along a swept axis (increasing, decreasing, linear: R^2 of a straight-line fit >=
    `tolerance`), a comparison with another configuration or epoch (less_than / greater_than
    `than`), or the winner (best: `where` has the best mean over the settings it names;
    best_at_least: the best matching trial reaches `value`, what a search finds). Ours is
    the mean over the matching trials (seeds) of each trial's row at `epoch` (its last when None).

        Reference("test accuracy of the 4 x 800 model after 5 epochs", M.TEST_ACC, 0.9148,
                  where={"model_size": "large"}, epoch=5, tolerance=0.02, differs="full MNIST; ours: 5k sample")
    """

    claim: str
    """The source's statement in words, as the report prints it."""
    metric: str
    """A results column (trainables.metrics), e.g. test_acc, time_total_s."""
    value: float | None = None
    """The source's number; None for shape and comparison claims."""
    where: Mapping[str, Any] = field(default_factory=dict)
    """The configuration the claim is about: setting -> value (an empty map: every trial)."""
    epoch: int | None = None
    """The epoch of the value (None: each trial's last row); for `reaches`, the latest epoch allowed."""
    check: str = "near"
    """near | at_least | at_most | each_near | reaches | increasing | decreasing | linear |
    less_than | greater_than | best | best_at_least."""
    tolerance: float = 0.0
    """Allowed distance from `value` (the metric's unit); for `linear`, the smallest R^2."""
    along: str | None = None
    """The swept setting of a shape claim (increasing, decreasing, linear)."""
    than: Mapping[str, Any] = field(default_factory=dict)
    """The other configuration of a comparison claim; with "epoch", the same configuration at
    that epoch (still rising at the end: the last epoch greater_than {"epoch": 150})."""
    differs: str = ""
    """What this run does differently from the source (data variant, epochs, hardware)."""
    differs_by_variant: Mapping[str, str] = field(default_factory=dict)
    """More of `differs` that holds only when this run's rows have a given data variant
    (metrics.VARIANT), by variant or by a prefix ending in ":" ("corpus:", any --set
    corpus=PATH); "{variant}" in a text names it. The column says what this run trained on,
    not what some run might."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "differs_by_variant", dict(self.differs_by_variant))  # stored as JSON with the results
