"""Text sampled from every trained language model after a sweep, stored as Parquet so the
report shows it without the models: one row per trial (prompt, temperature, text).

    write_samples(exp_dir, trials, {"sample_prompt": "once upon a time", "sample_chars": 500,
                                    "sample_temperature": 0.8}, vocab_of, label_of)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from analysis.results.tables import SAMPLES_FILE, write_parquet
from trainables import metrics as M

DEFAULTS = {"sample_prompt": "once upon a time", "sample_chars": 500, "sample_temperature": 1.0}
SEED = 0  # the same text for the same weights


def sample_text(model, vocab: Sequence[str], prompt: str, chars: int, temperature: float) -> tuple[str, str]:
    """(prompt as the model saw it, sampled continuation); characters outside the vocabulary are
    left out of the prompt (a corpus without capitals, say)."""
    from models.char_lm import generate  # torch: only where models are sampled, not in every report

    index = {ch: i for i, ch in enumerate(vocab)}
    known = "".join(ch for ch in prompt if ch in index)
    ids = generate(model, [index[ch] for ch in known], chars, temperature, seed=SEED)
    return known, "".join(vocab[i] for i in ids)


def write_samples(exp_dir: Path, trials: pd.DataFrame, settings: Mapping[str, Any],
                  vocab_of: Callable[[Any], Sequence[str]], label_of: Callable[[Any], str]) -> Path | None:
    """Sample from every trial with a checkpoint; returns the Parquet file, or None if none had one."""
    from analysis.results.trial_models import model_of_trial

    s = {**DEFAULTS, **settings}
    rows = []
    for _, row in trials.iterrows():
        model = model_of_trial(exp_dir, row[M.TRIAL_ID])
        if model is None:
            continue
        prompt, text = sample_text(model, vocab_of(row), s["sample_prompt"], s["sample_chars"], s["sample_temperature"])
        rows.append({M.TRIAL_ID: row[M.TRIAL_ID], "trial_config": label_of(row) or row[M.TRIAL_ID],
                     M.VAL_BITS_PER_CHAR: row.get(M.VAL_BITS_PER_CHAR), "prompt": prompt,
                     "temperature": float(s["sample_temperature"]), "text": text})
    if not rows:
        return None
    return write_parquet(pd.DataFrame(rows), Path(exp_dir) / SAMPLES_FILE)


def samples_markdown(samples: pd.DataFrame) -> list[str]:
    """The report's section: each trial's sample in a fenced block, prompt first."""
    if samples is None or samples.empty:
        return []
    first = samples.iloc[0]
    parts = ["## Samples", f"{len(samples)} trained model(s), each continuing the prompt {first['prompt']!r} at "
             f"temperature {first['temperature']:g} (seed {SEED}); the prompt is in brackets."]
    for _, row in samples.sort_values("trial_config").iterrows():
        bpc = row.get(M.VAL_BITS_PER_CHAR)
        score = f" — validation {bpc:.3f} bits/char" if pd.notna(bpc) else ""
        body = f"[{row['prompt']}]{row['text']}".replace("```", "'''")
        parts.append(f"### {row['trial_config']}{score}\n\n```text\n{body}\n```")
    return parts
