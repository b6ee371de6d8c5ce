"""Character language models: the vanilla RNN against the LSTM whose four gates are small
MLPs, in four sizes (small: 1 hidden layer per gate; medium: 2; large: 2 layers with 3x the
units and 3x the state; wide: 1 layer, 3x units and state), each at batch 1 and at batch 100;
loss against batches and against wall time, bits per character, and a sample per model.

    python -m sweeps.char_lm                          # 2,000 batches of 64 characters each
    python -m sweeps.char_lm --set max_steps=8600     # the source's length (hours on 2 cores)
    python -m sweeps.char_lm --set lm=rnn,lstm_small --set batch_size=100 --set sample_temperature=0.5
    python -m sweeps.char_lm --smoke-test
"""
from sweeps.char_lm_common import FALLBACK_DIFFERS, LM_SWEEP, LM_TRAINING
from sweeps.entry import main_for
from sweeps.spec import Reference, Sweep
from trainables import metrics as M

STATE, UNITS = 64, 64  # the small LSTM's state and gate-MLP units (the source gives only the ratios)
LMS = {
    "rnn": {"model": "char_rnn", "hidden": 128},
    "lstm_small": {"model": "mlp_lstm", "gate_layers": 1, "state": STATE, "units": UNITS},
    "lstm_medium": {"model": "mlp_lstm", "gate_layers": 2, "state": STATE, "units": UNITS},
    "lstm_large": {"model": "mlp_lstm", "gate_layers": 2, "state": 3 * STATE, "units": 3 * UNITS},
    "lstm_wide": {"model": "mlp_lstm", "gate_layers": 1, "state": 3 * STATE, "units": 3 * UNITS},
}

SWEEP = Sweep(
    name="char_lm",
    title="Character language models: RNN vs MLP-gated LSTMs at batch 1 and 100",
    **LM_SWEEP,
    description="At batch 1 the LSTMs trail the RNN for their parameter count; at batch 100 every batch costs more "
                "wall time but the curves are far smoother. Short runs still sample incoherent text.",
    fixed=dict(LM_TRAINING, max_steps=2_000, eval_every=100),
    grid={"lm": list(LMS), "batch_size": [1, 100]},
    presets={"lm": LMS},
    smoke={"lm": ["rnn", "lstm_small"], "batch_size": [1, 4], "max_steps": 10, "eval_every": 5},
    x="lm",
    headline=M.VAL_BITS_PER_CHAR,
    references=(
        Reference("at batch 1 the LSTM trails the RNN", M.VAL_LOSS, check="greater_than",
                  where={"lm": "lstm_small", "batch_size": 1}, than={"lm": "rnn", "batch_size": 1},
                  differs=FALLBACK_DIFFERS),
        Reference("batch 100 costs more wall time per batch than batch 1 (the source: about 4x slower learning "
                  "per wall second)", M.TIME_TOTAL_S, check="greater_than", where={"lm": "rnn", "batch_size": 100},
                  than={"lm": "rnn", "batch_size": 1}),
        Reference("batch 100 learns more per batch than batch 1", M.VAL_LOSS, check="less_than",
                  where={"lm": "rnn", "batch_size": 100}, than={"lm": "rnn", "batch_size": 1}),
        Reference("nanoGPT's small character transformer: validation loss about 1.47 nats (a well-tuned model)",
                  M.VAL_LOSS, 1.47, where={"lm": "lstm_large", "batch_size": 100}, tolerance=0.2,
                  differs="a transformer trained 5,000 steps on a GPU vs our LSTM for 2,000 batches on 2 cores"),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
