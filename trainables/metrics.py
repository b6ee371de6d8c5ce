"""Metric and column names, in one place: the loop, stoppers, schedulers and analysis import
these, because a mistyped metric string silently disables a scheduler."""

EPOCH = "epoch"
STEP = "step"  # optimizer steps taken so far (0 before the first update)
TRAIN_LOSS = "train_loss"
TRAIN_ACC = "train_acc"
VAL_LOSS = "val_loss"
VAL_ACC = "val_acc"
TEST_LOSS = "test_loss"
TEST_ACC = "test_acc"
EPOCH_TIME_S = "epoch_time_s"
TIME_TOTAL_S = "time_total_s"
SAMPLES_PER_S = "samples_per_s"
TRAIN_SAMPLES = "train_samples"  # examples trained on this epoch (all of them unless drop_last)
PARAM_COUNT = "param_count"
DEVICE = "device"
DEVICE_NAME = "device_name"
STARTED_AT = "started_at"  # Unix time (s) this trial (or its resumed run) began training: trial timelines
REPORTED_AT = "reported_at"  # Unix time (s) the row was reported
GPU_PEAK_MIB = "gpu_peak_mib"  # CUDA rows: the most memory PyTorch's allocator held so far (what a GPU share caps)
GRAD_NORM = "grad_norm"  # mean L2 norm of the whole gradient over the steps since the last row (track_grad_norm)
BITS_PER_CHAR = "bits_per_char"  # language models: validation cross-entropy in bits (nats / ln 2)
TRAIN_BITS_PER_CHAR = "train_" + BITS_PER_CHAR
VAL_BITS_PER_CHAR = "val_" + BITS_PER_CHAR
TEST_BITS_PER_CHAR = "test_" + BITS_PER_CHAR

# What the loop reports for a classification trial every epoch, in this order (other
# objectives report their own metrics in place of the accuracies: trainables.objectives).
EPOCH_METRICS = (
    EPOCH, STEP, TRAIN_LOSS, TRAIN_ACC, VAL_LOSS, VAL_ACC, TEST_LOSS, TEST_ACC,
    EPOCH_TIME_S, TIME_TOTAL_S, SAMPLES_PER_S, TRAIN_SAMPLES, PARAM_COUNT, DEVICE, DEVICE_NAME,
)

# Per-trial results of post-hoc studies (analysis.results.sections), which references can check.
SENSITIVITY = "sensitivity"  # mean Frobenius norm of the softmax's input Jacobian over the test set
MINIMAL_RATIO = "minimal_ratio"  # fraction of positive Hessian eigenvalues at a critical point
TOP_EIGENVALUE = "top_eigenvalue"  # largest Hessian eigenvalue of the training loss
FGSM_ACC = "fgsm_acc"  # test accuracy under FGSM, at each eps

# Provenance columns every result row carries.
SWEEP = "sweep"
DATASET = "dataset"
VARIANT = "variant"
TORCH_VERSION = "torch_version"
RAY_VERSION = "ray_version"
GIT_COMMIT = "git_commit"
NODE_ID = "node_id"  # the Ray node a row was trained on (a restarted trial may move)
PROVENANCE = (SWEEP, DATASET, VARIANT, TORCH_VERSION, RAY_VERSION, GIT_COMMIT, NODE_ID)

# Row identity in the results tables.
TRIAL_ID = "trial_id"

# Per-member columns of fused populations (trainables.population).
FUSED_MEMBERS = "fused_members"  # members trained together in the population this row's trial was in
MEMBER = "member"  # the member's index in its population
STOPPED = "stopped"  # the member was stopped (min-delta) at this epoch
MEMBERS = "members"  # a fused trial's config and results list its members
POPULATION_COLUMNS = (FUSED_MEMBERS, MEMBER, STOPPED)

# Whether a metric is better when smaller ("min") or larger ("max").
MODES = {TRAIN_LOSS: "min", VAL_LOSS: "min", TEST_LOSS: "min", TRAIN_ACC: "max", VAL_ACC: "max", TEST_ACC: "max",
         TRAIN_BITS_PER_CHAR: "min", VAL_BITS_PER_CHAR: "min", TEST_BITS_PER_CHAR: "min"}
