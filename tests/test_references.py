"""References (the source's reported results) checked against a results table."""
import pandas as pd
import pytest

from analysis.results.claims import Reference
from analysis.results.references import (
    NO_DATA,
    NOT_CHECKED,
    NOT_REPRODUCED,
    REPRODUCED,
    check_declaration,
    check_references,
)
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
    assert table.iloc[0]["verdict"] == "reproduced" and "variant=clip (0.750)" in table.iloc[0]["ours"]
    everywhere = Reference("clip is the best", "test_acc", check="best", where={"tokens": "char", "variant": "clip"})
    assert check_references(pd.DataFrame(rows), [everywhere]).iloc[0]["verdict"] == "not reproduced"


def stopped_at(last: int, length_key: str = "max_epochs", **settings) -> pd.DataFrame:
    """One trial per setting value trained to `last` (epoch or step, epoch == step as in the
    palindromes), its configured length in `length_key`; accuracy rises 0.3 per row from 0.1."""
    axis, values = next(iter(settings.items())) if settings else ("toy_set", ["moons"])
    return pd.DataFrame([{M.TRIAL_ID: f"t_{v}", axis: v, M.EPOCH: e, M.STEP: e, length_key: last,
                          M.TEST_ACC: min(0.1 + 0.3 * e, 1.0), M.TRAIN_ACC: min(0.1 + 0.3 * e, 1.0)}
                         for v in values for e in range(last + 1)])


def test_a_reference_beyond_the_last_epoch_is_not_checked_and_says_where_the_run_stopped():
    """A 2-epoch smoke test against the source's epoch 50: neither reproduced nor not."""
    table = check_references(stopped_at(2), [
        Reference("100% by epoch 50", M.TEST_ACC, 1.0, check="reaches", epoch=50),
        Reference("70% by epoch 50", M.TEST_ACC, 0.7, check="reaches", epoch=50),  # reached at epoch 2: won
        Reference("0.95 at epoch 5", M.TEST_ACC, 0.95, epoch=5, tolerance=0.01),
        Reference("still rising after epoch 150", M.TEST_ACC, check="greater_than", epoch=2, than={M.EPOCH: 150}),
        Reference("0.7 at epoch 2", M.TEST_ACC, 0.7, epoch=2, tolerance=0.01),
    ])
    assert list(table["verdict"]) == [
        "not checked (run stopped at epoch 2; the source's value is at epoch 50)", REPRODUCED,
        "not checked (run stopped at epoch 2; the source's value is at epoch 5)",
        "not checked (run stopped at epoch 2; the source's value is at epoch 150)", REPRODUCED]
    assert table.iloc[0]["ours"] == "not reached (best 0.700)" and table.iloc[2]["difference"] == ""


def test_a_value_at_the_end_of_training_needs_the_sweeps_full_length():
    """text_models at 5 epochs against CNNs of 250 and GRUs of 100: the last row is not the
    source's; at its full length (or beyond) the same reference is checked."""
    models = {"text_model": ["char_cnn", "char_gru"]}
    full = (({"text_model": "char_cnn"}, 250), ({"text_model": "char_gru"}, 100), ({}, 5))
    refs = [Reference("char gru accuracy", M.TEST_ACC, 1.0, where={"text_model": "char_gru"}, tolerance=0.01),
            Reference("char cnn is best", M.TEST_ACC, check="best", where={"text_model": "char_cnn"}),
            Reference("cnn beats gru", M.TEST_ACC, check="greater_than", where={"text_model": "char_cnn"},
                      than={"text_model": "char_gru"})]
    short = check_references(stopped_at(5, **models), refs, full_length=full)["verdict"]
    assert list(short) == ["not checked (run stopped at epoch 5 of the sweep's 100; the source's value is at the end "
                           "of training)"] + ["not checked (run stopped at epoch 5 of the sweep's 250; the source's "
                                              "value is at the end of training)"] * 2
    full_run = check_references(stopped_at(250, **models), refs, full_length=full)["verdict"]
    assert all(not v.startswith(NOT_CHECKED) for v in full_run)
    assert list(check_references(stopped_at(5, **models), refs)["verdict"])[0] == REPRODUCED  # no lengths known


def test_an_early_stopped_trial_set_to_the_full_length_is_still_checked():
    """dogset_lr's min-delta stop at epoch 57 of 100: the run was meant to stop there."""
    table = stopped_at(4).assign(max_epochs=100)
    ref = Reference("stops after 4 epochs", M.EPOCH, 4, tolerance=0)
    assert list(check_references(table, [ref], full_length=(({}, 100),))["verdict"]) == [REPRODUCED]


def test_step_based_runs_say_steps():
    """The palindromes: a 20-step smoke test against the source's 1,500 and 10,000 steps."""
    table = stopped_at(20, "max_steps")
    refs = [Reference("100% near step 1,000", M.TRAIN_ACC, 1.5, check="reaches", epoch=1500),
            Reference("final accuracy", M.TEST_ACC, 0.35, tolerance=0.15)]
    checked = check_references(table, refs, unit="step", full_length=(({}, 10_000),))
    assert list(checked["verdict"]) == [
        "not checked (run stopped at step 20; the source's value is at step 1,500)",
        "not checked (run stopped at step 20 of the sweep's 10,000; the source's value is at the end of training)"]
    assert checked.iloc[0]["source"] == "1.5 by step 1,500"


def test_the_scorecard_counts_only_what_was_checked():
    from analysis.results.references import scorecard

    table = check_references(stopped_at(2), [
        Reference("reproduced", M.TEST_ACC, 0.7, epoch=2, tolerance=0.01),
        Reference("not reproduced", M.TEST_ACC, 0.9, epoch=2, tolerance=0.01),
        Reference("stopped before", M.TEST_ACC, 0.9, epoch=50, tolerance=0.01),
        Reference("no such trial", M.TEST_ACC, 0.9, where={"toy_set": "circles"}),
        Reference("also reproduced", M.TEST_ACC, 0.6, check="reaches", epoch=50),
    ])
    score = scorecard(table)
    assert score == (2, 3, 2) and (score.reproduced, score.checked, score.not_checked) == (2, 3, 2)


def test_one_number_format_for_measured_values():
    from analysis.results.numbers import fmt_number

    assert [fmt_number(v) for v in (0.877, 0.32189, 1, 2.3456, 127.7, 999.7, 12345.6, 0.00512)] == [
        "0.877", "0.322", "1.00", "2.35", "128", "1,000", "12,346", "0.00512"]
    assert fmt_number(0.0015, sign=True) == "+0.00150" and fmt_number(-20.51, sign=True) == "-20.5"


def test_one_tie_break_everywhere(tmp_path):
    """Two models tie on the metric: the console's best trials, the report's ranking, a "best"
    reference and --base-from all pick the one with fewer parameters, then the earlier trial
    (before: the console took numpy_mlp, the report mlp, by the sort of their names)."""
    from analysis.results.markdown import best_table
    from analysis.results.stats import best_trials
    from analysis.results.sweep_meta import SweepMeta
    from analysis.results.tables import TRIALS_FILE, write_parquet
    from sweeps.runner.plan import best_settings

    def pick_everywhere(params: dict[str, int]) -> set[str]:
        trials = pd.DataFrame([{M.TRIAL_ID: trial, "model": model, M.EPOCH: 3, M.TEST_ACC: 1.0, M.VAL_LOSS: 0.1,
                                M.PARAM_COUNT: params[model], "status": "TERMINATED"}
                               for trial, model in (("t0", "mlp"), ("t1", "numpy_mlp"), ("t2", "cnn"))])
        trials.loc[trials["model"] == "cnn", M.TEST_ACC] = 0.5  # not tied: last everywhere
        trials.loc[trials["model"] == "numpy_mlp", M.TEST_ACC] = 1.0 + 3e-8  # float32 noise is no win
        meta = SweepMeta(sweep="tie", axes=("model",), x="model", metric=M.TEST_ACC, mode="max")
        write_parquet(trials, tmp_path / TRIALS_FILE, meta)
        checks = {model: check_references(trials, [Reference("r", M.TEST_ACC, check="best", where={"model": model})])
                  .iloc[0]["verdict"] for model in params}
        return {best_trials(trials, M.TEST_ACC, "max").iloc[0]["model"], best_table(trials, trials, meta).iloc[0]["model"],
                best_settings(str(tmp_path))[0]["model"], *(m for m, verdict in checks.items() if verdict == REPRODUCED)}

    assert pick_everywhere({"mlp": 200, "numpy_mlp": 100, "cnn": 10}) == {"numpy_mlp"}  # fewer parameters
    assert pick_everywhere({"mlp": 100, "numpy_mlp": 200, "cnn": 10}) == {"mlp"}
    assert pick_everywhere({"mlp": 100, "numpy_mlp": 100, "cnn": 10}) == {"mlp"}  # then the earlier trial, t0


def test_char_lm_differs_note_names_the_corpus_this_run_read():
    """Not "offline runs train on the pydoc_data fallback" when --set corpus=... was given: the
    note follows the variant the rows record."""
    from sweeps import char_lm

    ref = char_lm.SWEEP.references[0]
    rows = pd.DataFrame([{M.TRIAL_ID: f"t{i}", "lm": lm, "batch_size": 1, M.EPOCH: 1, M.VAL_LOSS: loss}
                         for i, (lm, loss) in enumerate([("lstm_small", 2.0), ("rnn", 1.5)])])

    def differs(variant: str) -> str:
        return check_references(rows.assign(**{M.VARIANT: variant}), [ref]).iloc[0]["differs"]

    assert differs("corpus:input.txt") == "source: tiny-shakespeare; this run trained on corpus:input.txt (--set corpus)"
    assert "pydoc_data fallback" in differs("pydoc-topics-fallback")
    assert differs("tiny-shakespeare") == ""  # the source's own corpus: nothing differs
