"""The committed REPRODUCTION.md parses and its totals add up (it need not be fresh: it is
rebuilt by `python -m sweeps.curriculum --resume --record REPRODUCTION.md`)."""
from pathlib import Path

import pandas as pd

from analysis.results.reproduction import read_record
from sweeps.runner.catalog import all_sweeps

RECORD = Path(__file__).resolve().parents[1] / "REPRODUCTION.md"


def test_the_committed_record_parses_and_its_totals_add_up():
    text = RECORD.read_text(encoding="utf-8")
    totals = read_record(text)
    assert totals.sweeps == len(totals.rows) > 0
    assert set(totals.rows) <= set(all_sweeps())
    assert totals.reproduced == sum(r for r, _, _ in totals.rows.values()) <= totals.checked
    assert totals.checked == sum(c for _, c, _ in totals.rows.values())
    assert totals.not_checked == sum(n for _, _, n in totals.rows.values())
    for name in totals.rows:  # each sweep's scorecard follows the table
        assert f"\n### {name}\n" in text


def _record(name: str, reproduced: int, checked: int, headline: str):
    from analysis.results.reproduction import SweepRecord

    table = pd.DataFrame({"claim": [f"{name} claim"], "verdict": ["reproduced"]})
    return SweepRecord(name, "toy-variant", reproduced, checked, 0, headline, 12.0, "abc123", "2 CPUs", table)


def test_a_rewritten_record_keeps_the_rows_of_sweeps_it_did_not_run():
    from analysis.results.reproduction import kept_rows, render

    first = render([_record("toy2d", 1, 2, "old toy2d"), _record("palindrome", 3, 3, "old palindrome")], {},
                   "first command")
    second = render([_record("toy2d", 2, 2, "new toy2d"), _record("mnist_width", 0, 1, "width")],
                    {"palindrome": "its data is not here"}, "second command", pending=["palindrome"],
                    kept=kept_rows(first))
    totals = read_record(second)
    assert set(totals.rows) == {"toy2d", "mnist_width", "palindrome"} and totals.sweeps == 3
    assert totals.rows["toy2d"] == (2, 2, 0) and totals.rows["palindrome"] == (3, 3, 0)  # rerun replaces, kept stays
    assert (totals.reproduced, totals.checked) == (5, 6)
    assert "old toy2d" not in second and "new toy2d" in second and "old palindrome" in second
    assert second.count("\n### palindrome\n") == 1 and "palindrome claim" in second
    assert "## Not run here" not in second and "## Not run yet" not in second  # the kept row answers for it
    assert "`palindrome` are kept from the earlier record" in second
