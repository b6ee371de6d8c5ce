"""Settings shared by the character language-model studies (the course's Shakespeare
character model): 64-character windows of tiny-shakespeare (the pydoc_data fallback offline,
--set corpus=PATH for any text), Adam with gradient clipping, and 500 characters sampled from
"once upon a time" by every trained model, shown in the report."""
from types import MappingProxyType

LM_SOURCE = ("the course's character-level Shakespeare language model (vanilla RNN vs an LSTM whose gates are small "
             "MLPs, on tiny-shakespeare), with nanoGPT's small character transformer as the well-tuned reference")
# The source names no optimizer: Adam 2e-3 with clipping at 5 are char-rnn's usual learning
# rate and grad_clip, and train stably at batch 1 as at batch 100.
LM_TRAINING = MappingProxyType(dict(optimizer="adam", lr=2e-3, clip_grad_norm=5.0, checkpoint_every=1_000))
CORPUS = MappingProxyType({"corpus": None})  # dataset argument: None = tiny-shakespeare, else a text file
SAMPLE = MappingProxyType({"sample_prompt": "once upon a time", "sample_chars": 500, "sample_temperature": 0.8})
# What every language-model sweep declares alike: Sweep(**LM_SWEEP, name=..., ...).
LM_SWEEP = MappingProxyType(dict(data=CORPUS, sample=SAMPLE,
                                 source=LM_SOURCE, metric="val_loss"))
# The "differs" note of a reference, by the corpus a run actually read (its rows' variant).
CORPUS_DIFFERS = MappingProxyType({
    "pydoc-topics-fallback": "source: tiny-shakespeare; this run trained on the pydoc_data fallback (no input.txt found)",
    "corpus:": "source: tiny-shakespeare; this run trained on {variant} (--set corpus)",
})

STATE, UNITS = 64, 64  # the small LSTM's state and gate-MLP units (the source gives only the ratios)
LMS = {  # the `lm` axis: the vanilla RNN and the LSTM whose four gates are small MLPs, in four sizes
    "rnn": {"model": "char_rnn", "hidden": 128},
    "lstm_small": {"model": "mlp_lstm", "gate_layers": 1, "state": STATE, "units": UNITS},
    "lstm_medium": {"model": "mlp_lstm", "gate_layers": 2, "state": STATE, "units": UNITS},
    "lstm_large": {"model": "mlp_lstm", "gate_layers": 2, "state": 3 * STATE, "units": 3 * UNITS},
    "lstm_wide": {"model": "mlp_lstm", "gate_layers": 1, "state": 3 * STATE, "units": 3 * UNITS},
}
