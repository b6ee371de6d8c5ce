"""Text classification on DBpedia: char CNN, word CNN, char GRU and word GRU; test accuracy
and runtime table, and curves. Three seeds per model by default (the source averaged 3 runs by
hand).

    python -m sweeps.text_models --data-dir DIR   # DIR (or DIR/dbpedia) holds train_medium.csv, test_medium.csv
    python -m sweeps.text_models --set init=tf    # TensorFlow 1.x's initialisers, as the source's framework had
    python -m sweeps.text_models --smoke-test
"""
from sweeps.families.text_classifiers import FOUR_MODELS, SMOKE, TEXT_MODELS, accuracies
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M

SOURCE_ACC = {"word_gru": 0.863, "char_gru": 0.704, "char_cnn": 0.666, "word_cnn": 0.544}

SWEEP = Sweep(
    name="text_models",
    dataset="text_csv", model=("text_cnn", "text_rnn"), objective="classification",
    title="DBpedia text classification: char/word CNN vs char/word GRU",
    description="Word models see whole words; the word GRU wins. The CNNs train faster per epoch than the GRUs.",
    **FOUR_MODELS,
    grid={"text_model": list(TEXT_MODELS)},
    smoke=SMOKE,
    references=(
        *accuracies(SOURCE_ACC),
        Reference("word GRU is the best model", M.TEST_ACC, check="best", where={"text_model": "word_gru"}),
        *(Reference(f"the {kind} CNN trains faster per epoch than the {kind} GRU", M.EPOCH_TIME_S, check="less_than",
                    where={"text_model": f"{kind}_cnn"}, than={"text_model": f"{kind}_gru"}) for kind in ("char", "word")),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
