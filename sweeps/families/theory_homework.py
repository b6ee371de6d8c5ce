"""Settings shared by the optimisation-and-generalisation studies (deep vs shallow, weight
trajectories, gradient norms, minimal ratio, parameters vs generalisation, sharpness by
interpolation and sensitivity), after the source course's homework on the theory of deep learning."""
from types import MappingProxyType

SOURCE = "the source course's homework on deep-learning theory"
# Its MNIST model is a 784-128-10 ReLU MLP trained by plain SGD; it states no rate or batch: lr
# 0.01 and batch 64 (the classic assignment's, sweeps.families.mnist_mlp) train it to ~90% on the 5k sample.
MNIST_128 = MappingProxyType(dict(depth=1, width=128, activation="relu", optimizer="sgd", lr=0.01, momentum=0.0,
                                  batch_size=64))
NO_NUMBER = "the source shows figures only: an expected outcome, not a number it reports"
