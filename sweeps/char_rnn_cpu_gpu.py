"""Character RNN on the CPU and on a GPU: validation loss against wall time over 1,000 batches
of one 64-character string. Without a GPU the GPU half is skipped with a note in the output and
the report. Every trained model continues "once upon a time" in the report.

    python -m sweeps.char_rnn_cpu_gpu [--smoke-test]
    python -m sweeps.char_rnn_cpu_gpu --set corpus=book.txt --set sample_temperature=0.5
"""
from sweeps.families.char_language_models import CORPUS_DIFFERS, LM_SWEEP, LM_TRAINING
from sweeps.runner.entry import main_for
from sweeps.runner.spec import Reference, Sweep
from trainables import metrics as M

SWEEP = Sweep(
    name="char_rnn_cpu_gpu",
    dataset="char_corpus", model="char_rnn", objective="language_model",
    title="Character RNN: CPU vs GPU, loss against time over 1,000 batches of 64 characters",
    **LM_SWEEP,
    description="A batch of one 64-character string is a chain of 64 tiny matrix products: launch-bound on a GPU, "
                "so the GPU gains little or loses against the CPU at this size.",
    fixed=dict(LM_TRAINING, model="char_rnn", hidden=128, batch_size=1, max_steps=1_000, eval_every=50),
    grid={"device": ["cpu", "cuda"]},
    smoke={"max_steps": 20, "eval_every": 10},
    headline=M.TIME_TOTAL_S,
    references=(
        Reference("the RNN learns within 1,000 batches: validation loss below the untrained model's", M.VAL_LOSS,
                  check="less_than", where={"device": "cpu"}, than={M.EPOCH: 0}, differs_by_variant=CORPUS_DIFFERS),
    ),
)

main = main_for(SWEEP, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
