"""Settings shared by the text-classification studies (the course's DBpedia exercise, after
TensorFlow's text-classification examples): the four models, Adam lr 0.01, batch 128, CNNs
250 epochs and RNNs 100, documents cut to 100 bytes or words; and the source's test accuracies."""
from types import MappingProxyType

from sweeps.runner.spec import Reference
from trainables import metrics as M

TEXT_SOURCE = ("the course's DBpedia text-classification exercise (TensorFlow's char/word CNN and GRU examples, "
               "train_medium/test_medium subset, 15 outputs), each run averaged over 3 runs by hand")
# The source trained on all 5,600 documents and reported test accuracy: no validation split, and
# trials are ranked by what it reported.
TEXT_TRAINING = MappingProxyType(dict(optimizer="adam", lr=0.01, batch_size=128, checkpoint_every=50, val_fraction=0.0))
TEXT_DATA = MappingProxyType({"length": 100})  # bytes or words per document
# What every text sweep declares alike: Sweep(**TEXT_SWEEP, name=..., ...).
TEXT_SWEEP = MappingProxyType(dict(data=TEXT_DATA, source=TEXT_SOURCE, repeats=3, metric=M.TEST_ACC,
                                   mode="max"))
TEXT_MODELS = {
    "char_cnn": {"model": "text_cnn", "tokens": "char", "max_epochs": 250},
    "word_cnn": {"model": "text_cnn", "tokens": "word", "embedding": 20, "max_epochs": 250},
    "char_gru": {"model": "text_rnn", "tokens": "char", "cell": "gru", "hidden": 20, "max_epochs": 100},
    "word_gru": {"model": "text_rnn", "tokens": "word", "cell": "gru", "hidden": 20, "embedding": 20, "max_epochs": 100},
}
# The studies over the four models (text_models, text_dropout) declare these alike.
FOUR_MODELS = MappingProxyType(dict(TEXT_SWEEP, fixed=TEXT_TRAINING, presets={"text_model": TEXT_MODELS}))
SMOKE = {"max_epochs": 2, "batch_size": 16}  # 16: the committed 28-row fixture trains too
# Same data (see the variant), padding (0 at the end), 15 outputs, Adam lr 0.01, batch 128 and epochs;
# what TensorFlow 1.x did otherwise by default:
DIFFERS = ("framework defaults: TF initialises weights and embeddings Glorot-uniform (an embedding of 20 to about "
           "+-0.01; PyTorch's is N(0, 1)) and GRU gate biases at 1; TF's Adam applies epsilon after the bias "
           "correction (--set init=tf trains with TF's initialisers); the source's number is one run (or 3 "
           "averaged) against our 3-seed mean")
TOLERANCE = 0.05


def accuracies(values: dict, extra: dict | None = None, what: str = "") -> tuple[Reference, ...]:
    """Test-accuracy references, one per model: {text_model: source accuracy}."""
    return tuple(Reference(f"{model.replace('_', ' ')}{what}: test accuracy", M.TEST_ACC, value,
                           where={"text_model": model, **(extra or {})}, tolerance=TOLERANCE, differs=DIFFERS)
                 for model, value in values.items())
