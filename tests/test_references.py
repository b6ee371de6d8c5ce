"""References (the source's reported results) checked against a results table."""
import pandas as pd
import pytest

from analysis.results.claims import Reference
from analysis.results.references import NO_DATA, NOT_REPRODUCED, REPRODUCED, check_declaration, check_references
from trainables import metrics as M


def results() -> pd.DataFrame:
    """Two seeds of three train sizes, epochs 0..3: accuracy rises with size and epoch, time is
    linear in size."""
    rows = []
    for size in (500, 1000, 2000):
        for seed in (0, 1):
            for epoch in range(4):
                rows.append({M.TRIAL_ID: f"t{size}_{seed}", "train_size": size, "seed": seed, "width": "128-64",
                             M.EPOCH: epoch, M.TEST_ACC: 0.1 + 0.2 * epoch + size / 10_000 + seed * 0.002,
                             M.TIME_TOTAL_S: size * 0.08 * epoch / 3})
    return pd.DataFrame(rows)


def verdicts(*refs):
    return list(check_references(results(), refs)["verdict"])


def test_values_at_an_epoch_or_the_last_one():
    last = 0.7 + 0.2 + 0.001  # size 2000, epoch 3, mean of two seeds
    assert verdicts(
        Reference("size 2000", M.TEST_ACC, last, where={"train_size": 2000}, tolerance=1e-9),
        Reference("size 2000 too high", M.TEST_ACC, last + 0.05, where={"train_size": 2000}, tolerance=0.01),
        Reference("epoch 0", M.TEST_ACC, 0.15, where={"train_size": 500}, epoch=0, tolerance=0.002),
        Reference("at least", M.TEST_ACC, 0.95, check="at_least", where={"train_size": 2000}, tolerance=0.1),
        Reference("at most", M.TEST_ACC, 0.5, check="at_most", where={"width": [128, 64]}),
        Reference("no such config", M.TEST_ACC, 0.5, where={"train_size": 4000}),
    ) == [REPRODUCED, NOT_REPRODUCED, REPRODUCED, REPRODUCED, NOT_REPRODUCED, NO_DATA]


def test_a_value_exactly_at_the_edge_of_the_tolerance_is_within_it():
    """toy2d's 1.0 against the source's 0.995 ± 0.005 (1 - 0.995 > 0.005 in floating point)."""
    table = pd.DataFrame([{M.TRIAL_ID: "t", M.EPOCH: 1, M.TEST_ACC: 1.0}])
    refs = [Reference("edge", M.TEST_ACC, 0.995, tolerance=0.005),
            Reference("beyond", M.TEST_ACC, 0.994, tolerance=0.005)]
    assert list(check_references(table, refs)["verdict"]) == [REPRODUCED, NOT_REPRODUCED]


def test_table_reports_ours_with_interval_and_the_difference():
    table = check_references(results(), [Reference("c", M.TEST_ACC, 0.9, where={"train_size": 2000}, tolerance=0.01)])
    row = table.iloc[0]
    assert row["ours"].endswith("(n=2)") and "±" in row["ours"]
    assert float(row["difference"]) == pytest.approx(0.001, abs=1e-4)


def test_reaches_by_an_epoch():
    assert verdicts(
        Reference("0.5 by epoch 2", M.TEST_ACC, 0.5, check="reaches", where={"train_size": 1000}, epoch=2),
        Reference("0.5 by epoch 1", M.TEST_ACC, 0.5, check="reaches", where={"train_size": 1000}, epoch=1),
        Reference("never", M.TEST_ACC, 2.0, check="reaches", epoch=3),
    ) == [REPRODUCED, NOT_REPRODUCED, NOT_REPRODUCED]


def test_shapes_along_a_swept_setting():
    assert verdicts(
        Reference("rises with size", M.TEST_ACC, check="increasing", along="train_size"),
        Reference("falls with size", M.TEST_ACC, check="decreasing", along="train_size"),
        Reference("time linear in size", M.TIME_TOTAL_S, check="linear", along="train_size", tolerance=0.99),
        Reference("accuracy linear at epoch 0", M.TEST_ACC, check="linear", along="train_size", epoch=0, tolerance=0.99),
    ) == [REPRODUCED, NOT_REPRODUCED, REPRODUCED, REPRODUCED]


def test_comparisons_between_configurations():
    assert verdicts(
        Reference("small below large", M.TEST_ACC, check="less_than", where={"train_size": 500}, than={"train_size": 2000}),
        Reference("small above large", M.TEST_ACC, check="greater_than", where={"train_size": 500}, than={"train_size": 2000}),
    ) == [REPRODUCED, NOT_REPRODUCED]


def test_declaration_problems_are_named():
    problems = check_declaration([Reference("a", M.TEST_ACC, check="nearly"), Reference("b", M.TEST_ACC),
                                  Reference("c", M.TEST_ACC, check="increasing"), Reference("d", M.TEST_ACC, 1.0, check="reaches")])
    assert len(problems) == 4 and "check 'nearly' is not one of near" in problems[0]


def test_every_trial_within_a_band_and_the_winner():
    assert verdicts(
        Reference("all final accuracies in 0.746..0.906", M.TEST_ACC, 0.826, check="each_near", tolerance=0.08),
        Reference("all final accuracies near 0.8", M.TEST_ACC, 0.8, check="each_near", tolerance=0.05),
        Reference("size 2000 is best", M.TEST_ACC, check="best", where={"train_size": 2000}),
        Reference("size 500 is best", M.TEST_ACC, check="best", where={"train_size": 500}),
    ) == [REPRODUCED, NOT_REPRODUCED, REPRODUCED, NOT_REPRODUCED]


def test_still_rising_compares_the_last_epoch_with_an_earlier_one():
    assert verdicts(
        Reference("rising at the end", M.TEST_ACC, check="greater_than", where={"train_size": 500}, than={"epoch": 2}),
        Reference("falling at the end", M.TEST_ACC, check="less_than", where={"train_size": 500}, than={"epoch": 2}),
    ) == [REPRODUCED, NOT_REPRODUCED]


def test_best_trial_of_a_search():
    assert verdicts(Reference("best reaches 0.9", M.TEST_ACC, 0.9, check="best_at_least"),
                    Reference("best reaches 0.95", M.TEST_ACC, 0.95, check="best_at_least")) == [REPRODUCED, NOT_REPRODUCED]


def test_bounds_read_as_bounds_in_the_source_column():
    from analysis.results.references import source_text

    assert source_text(Reference("r", M.TEST_ACC, 0.5, check="at_least")) == "≥ 0.5"
    assert source_text(Reference("r", M.TEST_LOSS, 0.01, check="at_most", tolerance=0.005)) == "≤ 0.01 (more 0.005 allowed)"
    assert source_text(Reference("r", M.TEST_ACC, 0.35, tolerance=0.15)) == "0.35 (±0.15)"


def test_best_along_an_axis_ranks_only_the_trials_that_share_the_rest_of_where():
    """"The best char variant": a word model that beats every char model does not count."""
    from analysis.results.claims import Reference
    from analysis.results.references import check_references

    rows = [{"trial_id": f"{t}{v}", "epoch": 5, "tokens": t, "variant": v, "test_acc": acc}
            for t, v, acc in [("char", "gru", 0.70), ("char", "clip", 0.75), ("word", "gru", 0.90), ("word", "clip", 0.80)]]
    ref = Reference("clip is the best char variant", "test_acc", check="best", where={"tokens": "char", "variant": "clip"},
                    along="variant")
    table = check_references(pd.DataFrame(rows), [ref])
    assert table.iloc[0]["verdict"] == "reproduced" and "variant=clip (0.75)" in table.iloc[0]["ours"]
    everywhere = Reference("clip is the best", "test_acc", check="best", where={"tokens": "char", "variant": "clip"})
    assert check_references(pd.DataFrame(rows), [everywhere]).iloc[0]["verdict"] == "not reproduced"
