"""MinDeltaStopper on synthetic result streams, and its pickle round trip."""
import pickle

from trainables import metrics as M
from trainables.stoppers import MinDeltaStopper


def feed(stopper, trial, losses, metric=M.VAL_LOSS):
    return [stopper(trial, {M.EPOCH: i + 1, metric: v}) for i, v in enumerate(losses)]


def test_stops_when_improvement_below_min_delta():
    s = MinDeltaStopper(min_delta=1e-4)
    assert feed(s, "a", [1.0, 0.5, 0.49995]) == [False, False, True]


def test_patience_counts_consecutive_small_improvements():
    s = MinDeltaStopper(min_delta=0.01, patience=2)
    # 0.995 is a small step (1 stale), 0.9 resets, then two small steps stop it
    assert feed(s, "a", [1.0, 0.995, 0.9, 0.899, 0.898]) == [False, False, False, False, True]


def test_worsening_counts_as_no_improvement_and_max_mode():
    s = MinDeltaStopper(min_delta=1e-4)
    assert feed(s, "a", [0.5, 0.6]) == [False, True]
    acc = MinDeltaStopper(metric=M.VAL_ACC, mode="max", min_delta=0.01)
    assert feed(acc, "b", [0.5, 0.7, 0.705], metric=M.VAL_ACC) == [False, False, True]


def test_max_epochs_and_independent_trials():
    s = MinDeltaStopper(min_delta=1e-4, max_epochs=3)
    assert feed(s, "a", [3.0, 2.0, 1.0]) == [False, False, True]
    assert feed(s, "b", [3.0, 2.0]) == [False, False]
    assert not s.stop_all()


def test_pickle_round_trip_keeps_state():
    s = MinDeltaStopper(min_delta=0.1, patience=2)
    feed(s, "a", [1.0, 0.95])  # one stale epoch so far
    clone = pickle.loads(pickle.dumps(s))
    assert clone("a", {M.EPOCH: 3, M.VAL_LOSS: 0.94}) is True
    assert s("a", {M.EPOCH: 3, M.VAL_LOSS: 0.5}) is False
