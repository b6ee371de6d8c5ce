"""Character language models, long runs: the vanilla RNN and the small MLP-gated LSTM for the
source's 8,600 batches of one 64-character string (its 30-minute runs), each then continuing
"once upon a time" for 500 characters in the report. The source: still incoherent after 8,600.

    python -m sweeps.char_lm_long
    python -m sweeps.char_lm_long --set batch_size=100   # the smoother curve, at about 30x the time
    python -m sweeps.char_lm_long --smoke-test
"""
from sweeps.families.char_language_models import CORPUS_DIFFERS, LM_SWEEP, LM_TRAINING, LMS
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M

LONG = ("rnn", "lstm_small")

SWEEP = Sweep(
    name="char_lm_long",
    dataset="char_corpus", model=("char_rnn", "mlp_lstm"), objective="language_model",
    title="Character language models, long runs: RNN and small LSTM for 8,600 batches",
    **LM_SWEEP,
    description="8,600 batches of one string see about half of tiny-shakespeare once: the loss is still falling and "
                "the samples have words and line breaks but no sense.",
    fixed=dict(LM_TRAINING, batch_size=1, max_steps=8_600, eval_every=200),
    grid={"lm": list(LONG)},
    presets={"lm": {name: LMS[name] for name in LONG}},
    smoke={"max_steps": 20, "eval_every": 10},
    x="lm",
    headline=M.VAL_BITS_PER_CHAR,
    references=(
        Reference("the RNN learns over 8,600 batches: validation loss below the untrained model's", M.VAL_LOSS,
                  check="less_than", where={"lm": "rnn"}, than={M.EPOCH: 0}, differs_by_variant=CORPUS_DIFFERS),
        Reference("the small LSTM learns over 8,600 batches: validation loss below the untrained model's", M.VAL_LOSS,
                  check="less_than", where={"lm": "lstm_small"}, than={M.EPOCH: 0}, differs_by_variant=CORPUS_DIFFERS),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
