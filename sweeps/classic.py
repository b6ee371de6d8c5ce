"""Settings shared by the MNIST MLP studies, from the classic course assignment: 2 hidden layers
of 400 ReLU units, SGD with lr 0.01 and momentum 0.8, batch 64, 5 epochs."""
from types import MappingProxyType

MNIST_MLP = MappingProxyType(dict(
    depth=2, width=400, activation="relu", optimizer="sgd", lr=0.01, momentum=0.8, batch_size=64, max_epochs=5,
))
