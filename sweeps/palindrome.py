"""Palindrome memory test: a vanilla RNN vs an LSTM predicting the last digit of a palindrome
(which equals its first) from the others, for lengths 5, 10, 15 and 20. Fresh palindromes every
step; train_acc is on those training batches (what the source measured, every 10 steps), test_acc
on 10,000 fixed held-out palindromes (every 100 steps: scoring them costs more than training).

    python -m sweeps.palindrome                      # RMSProp 1e-2, batch 128, 10,000 steps, clip 10
    python -m sweeps.palindrome --set max_steps=3000 --set length=5,10
    python -m sweeps.palindrome --set cell=nn_lstm   # torch's nn.LSTM as a reference
    python -m sweeps.palindrome --smoke-test
"""
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M

SOURCE_STEPS = {5: 1_000, 10: 3_000, 15: 5_500}  # where the source's RNN reached 100% (train batches)
SLACK = 1.5  # "near step N": reached by 1.5 N counts as reproduced


def rnn_reaches_100(length: int, step: int) -> Reference:
    return Reference(f"RNN, length {length}: 100% accuracy near step {step:,}", M.TRAIN_ACC, 1.0,
                     where={"length": length, "cell": "rnn"}, check="reaches", epoch=round(step * SLACK),
                     differs=f"checked by step {round(step * SLACK):,}; a step is an epoch here (fresh data)")


SWEEP = Sweep(
    name="palindrome",
    dataset="palindrome", model="digit_rnn", objective="palindrome",
    title="Palindromes: vanilla RNN vs LSTM accuracy against sequence length",
    description="The RNN must carry the first digit through L - 2 steps of tanh: it learns short palindromes "
                "quickly and long ones slowly or not at all, while the LSTM's cell state keeps the digit.",
    data_axes={"length": "length"},
    fixed=dict(model="digit_rnn", hidden=128, optimizer="rmsprop", lr=1e-2, momentum=0.0, batch_size=128,
               max_steps=10_000, eval_every=10, clip_grad_norm=10.0,
               holdout_every=10,  # a row every 10 steps (training batches, as the source); held-out sets every 100
               checkpoint_every=1_000),  # 1,000 rows per trial: a checkpoint for each would cost more than training
    grid={"length": [5, 10, 15, 20], "cell": ["rnn", "lstm"]},
    smoke={"length": [5, 10], "max_steps": 20, "eval_every": 1, "checkpoint_every": 20},
    x="length",
    metric=M.VAL_LOSS,
    source="the University of Amsterdam deep-learning practical's recurrent-network assignment (palindromes, "
           "RMSProp, batch 128)",
    references=(
        *(rnn_reaches_100(length, step) for length, step in SOURCE_STEPS.items()),
        Reference("RNN, length 20: only about 35% accuracy after 10,000 steps", M.TRAIN_ACC, 0.35,
                  where={"length": 20, "cell": "rnn"}, epoch=10_000, tolerance=0.15),
        Reference("RNN: final accuracy falls with the length", M.TEST_ACC, check="decreasing", along="length",
                  where={"cell": "rnn"}, differs="held-out palindromes"),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
