"""Settings shared by the MNIST MLP studies, from the classic course assignment: 2 hidden layers
of 400 ReLU units, SGD with lr 0.01 and momentum 0.8, batch 64, 5 epochs, full MNIST; and the
test accuracies it reported after each epoch, for every study's report."""
from types import MappingProxyType
from typing import Any, Mapping

from sweeps.runner.spec import Reference
from trainables import metrics as M

# The assignment states depth, width, SGD momentum 0.8 and 5 epochs, not lr or batch size: lr
# 0.01 and batch 64 reach its 88% after 5 epochs (90% on the 5k sample, where an epoch is 15x
# fewer steps), while lr 0.001 or batch 1000 stay near 70-77% there.
MNIST_MLP = MappingProxyType(dict(
    depth=2, width=400, activation="relu", optimizer="sgd", lr=0.01, momentum=0.8, batch_size=64, max_epochs=5,
))
MNIST_SOURCE = "the classic MNIST multilayer-perceptron course assignment (small 2 x 400 and large 4 x 800 ReLU MLPs)"
# Test accuracy after epochs 0..5 on full MNIST (epoch 0: the untrained model).
SMALL_CURVE = (0.0799, 0.7379, 0.8231, 0.8513, 0.8690, 0.8807)
LARGE_CURVE = (0.0875, 0.8269, 0.8760, 0.8975, 0.9074, 0.9148)
SAMPLE_DIFFERS = "source: full MNIST (60,000 images); offline runs use the 5k sample (4,000 train)"
TOLERANCE = 0.03  # 3 points: the sample's epochs are 15x shorter, so early epochs differ most



def accuracy_curve(model: str, curve, where: Mapping[str, Any]) -> tuple[Reference, ...]:
    """The source's test accuracy after every epoch, as references for the configuration `where`."""
    return tuple(
        Reference(f"{model} model: test accuracy after epoch {epoch}", M.TEST_ACC, value, where=dict(where), epoch=epoch,
                  tolerance=TOLERANCE, differs=SAMPLE_DIFFERS)
        for epoch, value in enumerate(curve)
    )


def small_model_curve(where: Mapping[str, Any]) -> tuple[Reference, ...]:
    """References of a study whose grid contains the classic 2 x 400 setting at `where`."""
    return accuracy_curve("2 x 400", SMALL_CURVE, where)
