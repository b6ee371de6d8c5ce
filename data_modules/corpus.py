"""A character corpus as one stream of token ids: tiny-shakespeare (Karpathy's char-rnn
input.txt, 1,115,394 characters, 65 symbols), any UTF-8 text file, or, offline and without
it, a fallback of real English text that every Python installation carries (the pydoc_data
topics: Python's own documentation), named as its variant in every row.

    load_dataset("char_corpus")                      # tiny-shakespeare, downloaded once under a lock
    load_dataset("char_corpus", corpus="book.txt")   # any text (--set corpus=PATH)

The first 90% trains; of the last 10%, the first half validates and the second half tests.
The vocabulary is the corpus's sorted distinct characters (meta.classes).
"""
from __future__ import annotations

import urllib.request
from pathlib import Path

import torch

from data_modules.base import DataAbsent, DataBundle, DataError, DataMeta, Split, register_dataset
from data_modules.download import default_data_dir, try_download

URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
HOST = "raw.githubusercontent.com"
FOLDER, FILE = "tinyshakespeare", "input.txt"  # char-rnn's own data/tinyshakespeare/input.txt
OLD_FOLDER = "tiny_shakespeare"  # where earlier versions downloaded it
SHAKESPEARE_CHARS = 1_115_394
TRAIN_FRACTION = 0.9
SEQ_LEN = 64  # characters per window of the models' input (the source's batches of 64-character strings)
MIN_CHARS = 20 * (SEQ_LEN + 1)  # enough for a few windows in each held-out half


def fallback_text() -> str:
    """Python's documentation topics (about 465,000 characters of English prose and code),
    in a fixed order."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[k] for k in sorted(topics))


def fetch_shakespeare(folder: str) -> None:
    target = Path(folder) / FOLDER / FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    with urllib.request.urlopen(URL, timeout=30) as response:
        tmp.write_bytes(response.read())
    tmp.replace(target)  # a reader never sees half a file


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataAbsent(f"corpus {path} does not exist; allowed: a UTF-8 text file") from None
    except (UnicodeDecodeError, IsADirectoryError, PermissionError) as e:
        raise DataError(f"corpus {path} cannot be read as UTF-8 text ({type(e).__name__}); allowed: a UTF-8 text file") from None


def find_text(corpus: str | None, data_dir, download: bool) -> tuple[str, str, tuple[str, ...]]:
    """(text, variant, warnings), looked up in the order LOOKUP says (--help shows it)."""
    if corpus:
        path = Path(corpus).expanduser()
        return _read(path), f"corpus:{path.name}", ()
    folder = Path(data_dir) if data_dir else default_data_dir()
    path = folder / FOLDER / FILE
    if not path.is_file() and (folder / OLD_FOLDER / FILE).is_file():
        path = folder / OLD_FOLDER / FILE
    why = "download disabled"
    if not path.is_file() and download:
        why = try_download(folder, fetch_shakespeare, HOST, "tiny_shakespeare.lock", done=path.is_file) or ""
    if path.is_file():
        return _read(path), "tiny-shakespeare", ()
    warning = (f"tiny-shakespeare is not in {path.parent} ({why}): training on the fallback corpus, Python's "
               f"pydoc_data documentation topics; put input.txt there or use --set corpus=PATH")
    return fallback_text(), "pydoc-topics-fallback", (warning,)


def encode(text: str) -> tuple[torch.Tensor, tuple[str, ...]]:
    """(ids int64 (N,), vocabulary): each character's index in the sorted distinct characters."""
    vocab = tuple(sorted(set(text)))
    index = {ch: i for i, ch in enumerate(vocab)}
    return torch.tensor([index[ch] for ch in text], dtype=torch.long), vocab


LOOKUP = ("the text trained on is the first found of: --set corpus=PATH (any UTF-8 text file); "
          "DATA/tinyshakespeare/input.txt (DATA: --data-dir, else the default data folder); a download of it "
          "(unless offline); Python's pydoc_data documentation topics, a fallback named as the variant")


@register_dataset("char_corpus", option_help={"corpus": LOOKUP})
def load_char_corpus(corpus: str | None = None, data_dir=None, download: bool = True) -> DataBundle:
    text, variant, warnings = find_text(corpus, data_dir, download)
    if len(text) < MIN_CHARS:
        raise DataError(f"corpus {variant} has {len(text):,} characters; allowed: at least {MIN_CHARS:,}")
    ids, vocab = encode(text)
    cut = int(len(ids) * TRAIN_FRACTION)
    half = cut + (len(ids) - cut) // 2
    parts = [ids[:cut], ids[cut:half], ids[half:]]
    train, val, test = (Split(p, p) for p in parts)  # the stream is its own labels (per-character classes)
    meta = DataMeta("char_corpus", variant, (SEQ_LEN,), vocab, warnings=warnings,
                    notes=(f"{len(ids):,} characters, {len(vocab)} symbols; first 90% trains, last 10% halved into "
                           "validation and test",))
    return DataBundle(train, test, meta, val=val)
