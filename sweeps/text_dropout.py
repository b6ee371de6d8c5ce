"""Text classification on DBpedia with and without dropout 0.5 before the output layer, for the
char/word CNN and GRU. Three seeds per model by default (the source averaged 3 runs by hand).

    python -m sweeps.text_dropout --data-dir DIR
    python -m sweeps.text_dropout --smoke-test
"""
from sweeps.families.text_classifiers import FOUR_MODELS, SMOKE, TEXT_MODELS, accuracies
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M

WITH_DROPOUT = {"word_gru": 0.923, "char_gru": 0.713, "char_cnn": 0.637, "word_cnn": 0.446}

SWEEP = Sweep(
    name="text_dropout",
    dataset="text_csv", model=("text_cnn", "text_rnn"), objective="classification",
    title="DBpedia text classification: dropout 0.5 vs none, per model",
    description="Dropout helps the word GRU most; the CNNs lose accuracy with it in the source.",
    **FOUR_MODELS,
    grid={"text_model": list(TEXT_MODELS), "dropout": [0.0, 0.5]},
    smoke={**SMOKE, "text_model": ["char_cnn", "word_gru"]},
    x="dropout",
    references=(
        *accuracies(WITH_DROPOUT, {"dropout": 0.5}, " with dropout 0.5"),
        Reference("word GRU with dropout 0.5: 3-run mean test accuracy", M.TEST_ACC, 0.915,
                  where={"text_model": "word_gru", "dropout": 0.5}, tolerance=0.05),
        Reference("dropout helps the word GRU", M.TEST_ACC, check="greater_than",
                  where={"text_model": "word_gru", "dropout": 0.5}, than={"text_model": "word_gru", "dropout": 0.0}),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
