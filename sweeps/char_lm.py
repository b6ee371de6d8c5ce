"""Character language models: the vanilla RNN against the LSTM whose four gates are small
MLPs, in four sizes (small: 1 hidden layer per gate; medium: 2; large: 2 layers with 3x the
units and 3x the state; wide: 1 layer, 3x units and state), each at batch 1 and at batch 100;
loss against batches and against wall time, bits per character, and a sample per model.

    python -m sweeps.char_lm                          # 1,000 batches of 64 characters each, as the source
    python -m sweeps.char_lm_long                     # the source's long runs: 8,600 batches
    python -m sweeps.char_lm --set lm=rnn,lstm_small --set batch_size=100 --set sample_temperature=0.5
    python -m sweeps.char_lm --smoke-test
"""
from sweeps.families.char_language_models import CORPUS_DIFFERS, LM_SWEEP, LM_TRAINING, LMS
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="char_lm",
    dataset="char_corpus", model=("char_rnn", "mlp_lstm"), objective="language_model",
    title="Character language models: RNN vs MLP-gated LSTMs at batch 1 and 100",
    **LM_SWEEP,
    description="At batch 1 the LSTMs trail the RNN for their parameter count; at batch 100 every batch costs more "
                "wall time but the curves are far smoother. Short runs still sample incoherent text.",
    fixed=dict(LM_TRAINING, max_steps=1_000, eval_every=50),
    grid={"lm": list(LMS), "batch_size": [1, 100]},
    presets={"lm": LMS},
    smoke={"lm": ["rnn", "lstm_small"], "batch_size": [1, 4], "max_steps": 10, "eval_every": 5},
    x="lm",
    headline=M.VAL_BITS_PER_CHAR,
    references=(
        Reference("at batch 1 the LSTM trails the RNN", M.VAL_LOSS, check="greater_than",
                  where={"lm": "lstm_small", "batch_size": 1}, than={"lm": "rnn", "batch_size": 1},
                  differs_by_variant=CORPUS_DIFFERS),
        Reference("batch 100 costs more wall time per batch than batch 1 (the source: about 4x slower learning "
                  "per wall second)", M.TIME_TOTAL_S, check="greater_than", where={"lm": "rnn", "batch_size": 100},
                  than={"lm": "rnn", "batch_size": 1}),
        Reference("batch 100 learns more per batch than batch 1", M.VAL_LOSS, check="less_than",
                  where={"lm": "rnn", "batch_size": 100}, than={"lm": "rnn", "batch_size": 1}),
        Reference("nanoGPT's small character transformer: validation loss about 1.47 nats (a well-tuned model)",
                  M.VAL_LOSS, 1.47, where={"lm": "lstm_large", "batch_size": 100}, tolerance=0.2,
                  differs="a transformer trained 5,000 steps on a GPU vs our LSTM for 1,000 batches on 2 cores"),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
