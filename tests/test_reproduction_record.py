"""The committed REPRODUCTION.md parses and its totals add up (it need not be fresh: it is
rebuilt by `python -m sweeps.curriculum --resume --record REPRODUCTION.md`)."""
from pathlib import Path

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
