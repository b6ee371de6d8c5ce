"""Text classification data from DBpedia CSVs, no header, in either layout a user has:
- the course's files as they are (train_medium.csv / test_medium.csv, 5,600 / 700 rows): the
  class index, then the paragraph unquoted, so each of its commas starts a new column (rows
  padded with empty columns); the text is the non-empty columns joined back with commas;
- the DBpedia archive as documented: class index,"title","content", quoted; the text is the content.
The layout is detected per file and named in the data variant. Labels 1..14 give a 15-way output,
as in TensorFlow's DBpedia examples. Read with the csv module (quoted commas, doubled quotes, line
breaks inside quotes); every bad row is reported at once, with its line.

    load_dataset("text_csv", data_dir="data")   # data/train_medium.csv + data/test_medium.csv, or data/dbpedia/...

Without the files and with a network, the full DBpedia archive (560,000 / 70,000 rows) is
downloaded once under a lock and a class-balanced subset of the course's size is taken. Each
document (its content, as in the source) becomes x[i] = (UTF-8 bytes, word ids), cut or padded
with 0 to `length`; the word vocabulary is the training split's most frequent words.
"""
from __future__ import annotations

import csv
import re
import tarfile
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

from data_modules.base import DataAbsent, DataBundle, DataError, DataMeta, Split, register_dataset
from data_modules.download import default_data_dir, try_download
from data_modules.splits import balanced_subset

TRAIN_FILE, TEST_FILE = "train_medium.csv", "test_medium.csv"
ARCHIVE_URL = "https://github.com/le-scientifique/torchDatasets/raw/master/dbpedia_csv.tar.gz"
ARCHIVE_HOST = "github.com"
COURSE_DIR = "dbpedia"  # a data dir of several datasets keeps the course's files in DIR/dbpedia/
FULL_DIR = "dbpedia_csv"  # the archive's folder: train.csv, test.csv
COURSE_SIZES = (5_600, 700)  # 400 and 50 per class of 14
WORD_VOCAB = 50_000  # word ids 0..49,999 (0: padding and words outside the vocabulary); DataMeta.vocab
# TensorFlow's VocabularyProcessor tokenizer: acronyms, CamelCase parts, words with ' and -.
WORD_RE = re.compile(r"[A-Z]{2,}(?![a-z])|[A-Z][a-z]+(?=[A-Z])|[\'\w\-]+")
MAX_SHOWN = 8  # bad rows quoted in the error; the count covers them all
QUOTED_SECOND = re.compile(r'\s*\d+\s*,\s*"')  # the archive quotes the title: 1,"E. D. Abbott Ltd",...


LAYOUTS = {
    "course": "class index, then the text unquoted (each comma in it starts a new column, padded with empty ones)",
    "archive": 'class index,"title","content" (quoted, as in the DBpedia archive)',
}


@dataclass(frozen=True)
class TextRows:
    """A text CSV as read: labels, texts, and the layout found (a key of LAYOUTS)."""

    labels: list[int]
    texts: list[str]
    layout: str


def read_rows(path: Path) -> TextRows:
    """The rows of a DBpedia text CSV in either layout (detect_layout); one DataError naming
    every bad row's line. The course's layout gives back its text joined from the non-empty
    columns after the label with the commas that split it; the archive's gives its content."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            first = next((line for line in f if line.strip()), "")
            f.seek(0)
            reader = csv.reader(f)
            numbered = []
            start = 1
            for row in reader:
                if row:
                    numbered.append((start, row))
                start = reader.line_num + 1
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except csv.Error as e:
        raise DataError(f"{path}: not a CSV file ({e})") from None
    if not numbered:
        raise DataError(f"{path}: no rows; expected {LAYOUTS['course']}, or {LAYOUTS['archive']}")
    layout = detect_layout(first, [row for _, row in numbered])
    labels, texts, bad = [], [], []
    for line, row in numbered:
        problem = _row_problem(row, layout)
        if problem:
            bad.append(f"line {line}: {problem}")
        else:
            labels.append(int(row[0]))
            texts.append(row[2] if layout == "archive" else ",".join(c for c in row[1:] if c))
    if bad:
        shown = "; ".join(bad[:MAX_SHOWN]) + (f"; ... {len(bad) - MAX_SHOWN} more" if len(bad) > MAX_SHOWN else "")
        raise DataError(f"{path}: {len(bad)} bad row(s), expected {LAYOUTS[layout]}: {shown}")
    return TextRows(labels, texts, layout)


def detect_layout(first_line: str, rows: list[list[str]]) -> str:
    """"archive" when the text after the label is quoted, or when every row has exactly a label,
    a title and a non-empty content; else "course" (the course's files have 5 or 9 columns)."""
    if QUOTED_SECOND.match(first_line):
        return "archive"
    if all(len(r) == 3 and r[2].strip() for r in rows):
        return "archive"
    return "course"


def _row_problem(row: list[str], layout: str) -> str:
    if layout == "archive" and len(row) != 3:
        return f"{len(row)} field(s)"
    label = row[0].strip()
    if not label.isdigit():
        return f"class index {label!r} is not a non-negative integer"
    if layout == "course" and not any(c.strip() for c in row[1:]):
        return "no text after the class index"
    return ""


def encode_bytes(texts: list[str], length: int) -> torch.Tensor:
    out = torch.zeros(len(texts), length, dtype=torch.long)
    for i, text in enumerate(texts):
        data = text.encode("utf-8")[:length]
        out[i, : len(data)] = torch.tensor(list(data), dtype=torch.long)
    return out


def word_vocabulary(texts: list[str]) -> dict[str, int]:
    """Word -> id (1..), most frequent first, capped so ids stay below WORD_VOCAB."""
    counts = Counter(w for t in texts for w in WORD_RE.findall(t))
    return {w: i + 1 for i, (w, _) in enumerate(counts.most_common(WORD_VOCAB - 1))}


def encode_words(texts: list[str], vocab: dict[str, int], length: int) -> torch.Tensor:
    out = torch.zeros(len(texts), length, dtype=torch.long)
    for i, text in enumerate(texts):
        ids = [vocab.get(w, 0) for w in WORD_RE.findall(text)[:length]]
        out[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out


def fetch_archive(folder: str) -> None:
    archive = Path(folder) / "dbpedia_csv.tar.gz"
    with urllib.request.urlopen(ARCHIVE_URL, timeout=60) as response:
        archive.write_bytes(response.read())
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    archive.unlink()


def find_files(folder: Path, download: bool) -> tuple[Path, Path, str]:
    """(train, test, variant): the course's files, else the full archive (downloaded when allowed)."""
    for place in (folder, folder / COURSE_DIR):
        if (place / TRAIN_FILE).is_file() and (place / TEST_FILE).is_file():
            return place / TRAIN_FILE, place / TEST_FILE, "dbpedia-medium"
    full = folder / FULL_DIR
    why = "download disabled"
    if not (full / "train.csv").is_file() and download:
        why = try_download(folder, fetch_archive, ARCHIVE_HOST, "dbpedia.lock", done=(full / "train.csv").is_file) or ""
    if (full / "train.csv").is_file() and (full / "test.csv").is_file():
        return full / "train.csv", full / "test.csv", "dbpedia-balanced-{}-{}".format(*COURSE_SIZES)
    raise DataAbsent(f"text_csv: {TRAIN_FILE} and {TEST_FILE} are not in {folder} or {folder / COURSE_DIR} and the "
                    f"DBpedia archive could not be fetched ({why}); put the course's files there as they are")


@register_dataset("text_csv")
def load_text_csv(length: int = 100, data_dir=None, download: bool = True) -> DataBundle:
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 10_000:
        raise DataError(f"text_csv length {length!r} is not allowed; use an integer from 1 to 10,000")
    folder = Path(data_dir) if data_dir else default_data_dir()
    train_path, test_path, variant = find_files(folder, download)
    train, test = read_rows(train_path), read_rows(test_path)
    train_y, train_t, test_y, test_t = train.labels, train.texts, test.labels, test.texts
    classes = max(train_y + test_y) + 1  # labels 1..14 -> 15 outputs, as in the source
    if variant.startswith("dbpedia-balanced"):  # the full archive: a course-sized balanced subset
        train_y, train_t = _subset(train_y, train_t, COURSE_SIZES[0])
        test_y, test_t = _subset(test_y, test_t, COURSE_SIZES[1])
    layouts = train.layout if train.layout == test.layout else f"{train.layout}-train-{test.layout}-test"
    vocab = word_vocabulary(train_t)

    def split(labels, texts):
        x = torch.stack([encode_bytes(texts, length), encode_words(texts, vocab, length)], 1)
        return Split(x, torch.tensor(labels, dtype=torch.long))

    read = (f"read {len(train_y):,} train / {len(test_y):,} test documents in the {layouts} layout: "
            f"{len(set(train_y + test_y))} classes ({_per_class(train_y)} train, {_per_class(test_y)} test per class; "
            f"{classes} outputs), {len(vocab):,} words in the vocabulary, {length} bytes and words each")
    meta = DataMeta("text_csv", f"{variant}-{layouts}-layout", (2, length), tuple(str(c) for c in range(classes)),
                    notes=(read,), vocab=WORD_VOCAB)
    return DataBundle(split(train_y, train_t), split(test_y, test_t), meta)


def _per_class(labels: list[int]) -> str:
    counts = Counter(labels).values()
    return f"{min(counts):,}" if min(counts) == max(counts) else f"{min(counts):,}-{max(counts):,}"


def _subset(labels: list[int], texts: list[str], size: int) -> tuple[list[int], list[str]]:
    y = torch.tensor(labels)
    present = torch.unique(y)
    idx = balanced_subset(y - present.min(), size, len(present), seed=0, what="DBpedia subset")
    return [labels[i] for i in idx.tolist()], [texts[i] for i in idx.tolist()]
