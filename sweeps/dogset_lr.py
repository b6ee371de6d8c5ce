"""DogSet learning rates: an MLP with two hidden layers (128-64) on flattened 64x64x3 images from a
CSV manifest (columns: file, path, image or filename; label; partition: train, valid or test),
batch 10, SGD lr 1e-5 / 2e-5 / 1e-4, at most 100 epochs, stopped when the validation loss
improves by less than 1e-4.

    python -m sweeps.dogset_lr --data-dir FOLDER_WITH_dogs.csv [--smoke-test]
    python -m sweeps.dogset_lr --data-dir FOLDER --set manifest=cats.csv   # another manifest
"""
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="dogset_lr",
    dataset="manifest", model="mlp", objective="classification",
    title="DogSet: learning rate of a 128-64 MLP with min-delta early stopping",
    description="Min-delta stopping ends each rate's run once the validation loss improves by less than 1e-4 "
                "in an epoch: how long each rate keeps improving.",
    data={"manifest": "dogs.csv", "image_size": 64},
    fixed=dict(model="mlp", depth=2, width=[128, 64], optimizer="sgd", momentum=0.0, batch_size=10, max_epochs=100),
    grid={"lr": [1e-5, 2e-5, 1e-4]},
    min_delta=1e-4,
    smoke={"max_epochs": 3},
    source="a DogSet course assignment (7,665 training images of 10 breeds at 64 x 64 x 3, 128-64 MLP)",
    references=(
        Reference("lr 1e-4 stops after 57 epochs (min-delta 1e-4 on the validation loss)", M.EPOCH, 57,
                  where={"lr": 1e-4}, tolerance=10),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
