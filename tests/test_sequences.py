"""The sequence families without Ray: palindromes, the language-model objective and sampling,
gradient clipping and step-based training, and their data (corpus, DBpedia-layout CSVs)."""
import math

import pytest
import torch

from data_modules import DataError, load_dataset
from data_modules.palindrome import mirror, split_palindromes
from models import create_model
from models.char_lm import generate
from tests.conftest import DBPEDIA_FIXTURE
from trainables import metrics as M
from trainables.loop import build_trainer, run_training

PALINDROME = {"model": "digit_rnn", "hidden": 16, "optimizer": "rmsprop", "lr": 1e-2, "momentum": 0.0,
              "batch_size": 32, "max_steps": 25, "eval_every": 10, "checkpoint_every": 100, "eval_at_start": True}


def rows_of(bundle, flat, objective, **kw):
    rows = []
    run_training([flat], bundle, lambda r, s: rows.extend(r), objective=objective, **kw)
    return rows


@pytest.mark.parametrize("length", [2, 5, 10, 11])
def test_palindromes_read_the_same_backwards_and_the_target_is_the_last_digit(length):
    bundle = load_dataset("palindrome", length=length)
    for split in (bundle.train, bundle.val, bundle.test):
        full = torch.cat([split.x, split.y.unsqueeze(1)], 1)
        assert full.shape[1] == length and torch.equal(full, full.flip(1))
        assert torch.equal(split.y, split.x[:, 0]) and 0 <= int(split.x.min()) and int(split.x.max()) <= 9
    assert len(bundle.test) == 10_000
    halves = torch.tensor([[1, 2, 3]])
    x, y = split_palindromes(mirror(halves, 5))
    assert x.tolist() == [[1, 2, 3, 2]] and y.tolist() == [1]


def test_training_batches_are_fresh_palindromes_of_each_members_seed():
    bundle = load_dataset("palindrome", length=7)
    trainer = build_trainer([{**PALINDROME, "seed": 0}, {**PALINDROME, "seed": 1}], bundle, lambda r, s: None,
                            objective="palindrome")
    drawn, _ = trainer.task.sampler.next()
    x, y = trainer.task.batch(drawn)
    full = torch.cat([x, y.unsqueeze(-1)], -1)
    assert full.shape == (2, 32, 7) and torch.equal(full, full.flip(-1))
    assert not torch.equal(x[0], x[1]) and not torch.equal(trainer.task.sampler.next()[0], drawn)


def test_step_based_loop_rows_and_same_seed_same_metrics():
    bundle = load_dataset("palindrome", length=5)
    a = rows_of(bundle, PALINDROME, "palindrome")
    b = rows_of(bundle, PALINDROME, "palindrome")
    assert [r[M.STEP] for r in a] == [0, 10, 20, 25]
    assert [r[M.EPOCH] for r in a] == [0, 10, 20, 25]  # generated data: every step is an epoch
    assert {M.TRAIN_ACC, M.VAL_ACC, M.TEST_ACC} <= set(a[-1])
    assert [r[M.TEST_LOSS] for r in a] == [r[M.TEST_LOSS] for r in b]


def test_an_epoch_of_generated_data_is_one_step():
    flat = {**PALINDROME, "max_steps": None, "max_epochs": 3, "eval_every": 1}
    rows = rows_of(load_dataset("palindrome", length=5), flat, "palindrome")
    assert [r[M.STEP] for r in rows] == [0, 1, 2, 3]


def test_clipping_bounds_every_members_gradient_norm():
    bundle = load_dataset("palindrome", length=10)
    flats = [{**PALINDROME, "lr": 1.0, "seed": s, "clip_grad_norm": 0.01, "track_grad_norm": True} for s in (0, 1)]
    trainer = build_trainer(flats, bundle, lambda r, s: None, objective="palindrome")
    x, y = trainer.task.batch(trainer.task.sampler.next()[0])
    trainer.task.loss(trainer.engine.forward(x, train=True), y).sum().backward()
    trainer.eager.measure_and_clip()  # what every step does between backward and the update
    grads = torch.stack([p.grad.pow(2).flatten(1).sum(1) for p in trainer.engine.parameters()]).sum(0).sqrt()
    assert (grads <= 0.01 * (1 + 1e-4)).all()
    assert (trainer.eager.stats["grad_norm"] > 0.01).all()  # the norm before clipping was larger


def write_corpus(tmp_path, repeats=400):
    path = tmp_path / "tiny.txt"
    path.write_text("the cat sat on the mat. " * repeats, encoding="utf-8")
    return path


def test_corpus_split_variant_and_vocabulary(tmp_path):
    bundle = load_dataset("char_corpus", corpus=str(write_corpus(tmp_path)))
    n = len("the cat sat on the mat. ") * 400
    assert bundle.meta.variant == "corpus:tiny.txt" and "".join(bundle.meta.classes) == " .acehmnost"
    assert len(bundle.train.x) == int(n * 0.9) and len(bundle.val.x) + len(bundle.test.x) == n - int(n * 0.9)
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("char_corpus", corpus=str(tmp_path / "missing.txt"))


def test_offline_without_shakespeare_the_fallback_is_named_in_the_variant(tmp_path):
    bundle = load_dataset("char_corpus", data_dir=tmp_path)
    assert bundle.meta.variant == "pydoc-topics-fallback"
    assert "pydoc_data" in bundle.meta.warnings[0] and len(bundle.train.x) > 300_000


def test_corpus_lookup_order_named_corpus_then_the_data_dirs_tinyshakespeare_then_fallback(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "tinyshakespeare").mkdir(parents=True)
    (data_dir / "tinyshakespeare" / "input.txt").write_text("First Citizen:\nBefore we proceed any further.\n" * 40)
    named = write_corpus(tmp_path)
    assert load_dataset("char_corpus", corpus=str(named), data_dir=data_dir).meta.variant == "corpus:tiny.txt"
    found = load_dataset("char_corpus", data_dir=data_dir)
    assert found.meta.variant == "tiny-shakespeare" and not found.meta.warnings
    assert "".join(found.meta.classes) == "".join(sorted(set("First Citizen:\nBefore we proceed any further.\n")))


def test_language_model_loss_falls_and_bits_per_char_are_nats_over_ln2(tmp_path):
    bundle = load_dataset("char_corpus", corpus=str(write_corpus(tmp_path)))
    flat = {"model": "char_rnn", "hidden": 32, "optimizer": "adam", "lr": 1e-2, "batch_size": 16, "max_steps": 60,
            "eval_every": 30, "checkpoint_every": 100, "eval_at_start": True, "clip_grad_norm": 5.0}
    rows = rows_of(bundle, flat, "language_model")
    assert rows[-1][M.VAL_LOSS] < rows[0][M.VAL_LOSS] / 3
    for row in rows:
        for split in ("train", "val", "test"):
            assert row[f"{split}_bits_per_char"] == pytest.approx(row[f"{split}_loss"] / math.log(2))


@pytest.mark.parametrize("name", ["char_rnn", "mlp_lstm", "torch_lstm"])
def test_sampling_repeats_with_a_seed_and_continues_the_state(name):
    torch.manual_seed(0)
    model = create_model(name, input_shape=(8,), num_classes=12)
    a = generate(model, [1, 2, 3], 40, temperature=1.0, seed=3)
    assert a == generate(model, [1, 2, 3], 40, temperature=1.0, seed=3) and len(a) == 40
    assert a != generate(model, [1, 2, 3], 40, temperature=1.0, seed=4)
    assert all(0 <= t < 12 for t in a)
    # one step at a time from the carried state = the whole sequence at once
    logits, state = model.run(torch.tensor([[1, 2]]), None)
    step, _ = model.run(torch.tensor([[3]]), state)
    torch.testing.assert_close(step[0, -1], model(torch.tensor([[1, 2, 3]]))[0, -1], rtol=1e-4, atol=1e-5)


def write_csv(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_course_files_as_they_are_load_with_their_split_texts_joined_back():
    """The committed fixture: real rows of the course's files, unquoted, split at their commas."""
    train_lines = (DBPEDIA_FIXTURE / "train_medium.csv").read_text(encoding="utf-8").splitlines()
    bundle = load_dataset("text_csv", data_dir=DBPEDIA_FIXTURE, length=400)
    assert bundle.meta.variant == "dbpedia-medium-course-layout" and bundle.meta.num_classes == 15  # labels 1..14
    assert len(bundle.train) == len(train_lines) == 28 and len(bundle.test) == 14
    assert torch.bincount(bundle.train.y, minlength=15).tolist() == [0] + [2] * 14
    split = next(line for line in train_lines if len(line.rstrip(",").split(",")) > 2)  # text over several columns
    i = train_lines.index(split)
    text = split.split(",", 1)[1].rstrip(",")  # the label off, the padding off, the inner commas kept
    assert "," in text and bytes(bundle.train.x[i, 0].tolist()).rstrip(b"\0") == text.encode()[:400]
    assert "14 classes (2 train, 1 test per class; 15 outputs)" in bundle.meta.notes[0]


def test_archive_layout_csv_with_quotes_commas_and_line_breaks(tmp_path):
    rows = [f'{c},"Title {i}, with a comma","He said ""hi"", twice{chr(10)}then left w{c}"' for i, c in
            enumerate([1, 2, 3, 1, 2, 3, 1, 2, 3, 1])]
    write_csv(tmp_path / "train_medium.csv", rows)
    write_csv(tmp_path / "test_medium.csv", rows[:3])
    bundle = load_dataset("text_csv", data_dir=tmp_path, length=12)
    assert bundle.meta.variant == "dbpedia-medium-archive-layout" and bundle.meta.num_classes == 4  # labels kept: 0..3
    assert bundle.train.x.shape == (10, 2, 12) and bundle.train.y.tolist()[:3] == [1, 2, 3]
    assert bytes(bundle.train.x[0, 0].tolist()) == b'He said "hi"'  # the content, quotes undoubled
    words = bundle.train.x[0, 1]
    assert words[:7].gt(0).all() and words[7:].eq(0).all()  # He said hi twice then left w1: 7 words, padded


@pytest.mark.parametrize("lines, layout, first_text", [
    (["1,Title one,Some content here", "2,Title two,More content"], "archive", b"Some content here"),  # unquoted
    (["1, Split, at, commas,,", "2, Whole text,,,"], "course", b" Split, at, commas"),
    (["1, A text,", "2, Another text,"], "course", b" A text"),  # 3 columns, but the last one empty
])
def test_the_layout_is_detected_from_the_rows(tmp_path, lines, layout, first_text):
    write_csv(tmp_path / "train_medium.csv", lines)
    write_csv(tmp_path / "test_medium.csv", lines)
    bundle = load_dataset("text_csv", data_dir=tmp_path, length=40)
    assert bundle.meta.variant == f"dbpedia-medium-{layout}-layout"
    assert bytes(bundle.train.x[0, 0].tolist()).rstrip(b"\0") == first_text


def test_bad_rows_are_reported_together_with_their_lines(tmp_path):
    write_csv(tmp_path / "train_medium.csv", ['1,"a","b"', '"2","a,b"', '3,"c","d"', 'x,"e","f"', '1,"g","h","i"'])
    write_csv(tmp_path / "test_medium.csv", ['1,"a","b"'])
    with pytest.raises(DataError) as info:
        load_dataset("text_csv", data_dir=tmp_path)
    message = str(info.value)
    assert "3 bad row(s)" in message and "\n" not in message and 'expected class index,"title","content"' in message
    assert "line 2: 2 field(s)" in message and "line 4: class index 'x'" in message and "line 5: 4 field(s)" in message


def test_bad_rows_of_the_course_layout_name_their_lines(tmp_path):
    write_csv(tmp_path / "train_medium.csv", ["1, A text,,", "2,,,", "3, Fine, split,", "three, Text,,"])
    write_csv(tmp_path / "test_medium.csv", ["1, A text,,"])
    with pytest.raises(DataError) as info:
        load_dataset("text_csv", data_dir=tmp_path)
    message = str(info.value)
    assert "2 bad row(s), expected class index, then the text unquoted" in message and "\n" not in message
    assert "line 2: no text after the class index" in message and "line 4: class index 'three'" in message


def test_missing_text_files_offline_say_where_to_put_them(tmp_path):
    with pytest.raises(DataError, match=f"not in {tmp_path} or .*put the course's files there"):
        load_dataset("text_csv", data_dir=tmp_path)


@pytest.mark.parametrize("objective, model", [("palindrome", {"model": "digit_rnn", "cell": "lstm", "hidden": 16}),
                                              ("language_model", {"model": "mlp_lstm", "state": 8, "units": 8})])
def test_seeds_of_the_sequence_families_fuse_and_train_as_alone(objective, model, tmp_path):
    bundle = (load_dataset("palindrome", length=6) if objective == "palindrome" else
              load_dataset("char_corpus", corpus=str(write_corpus(tmp_path))))
    shared = {k: v for k, v in PALINDROME.items() if k not in ("model", "hidden")}
    base = {**shared, **model, "max_steps": 6, "eval_every": 3, "clip_grad_norm": 1.0}
    flats = [{**base, "seed": 0}, {**base, "seed": 1, "lr": 3e-3}]
    history = []
    run_training(flats, bundle, lambda r, s: history.append(r), objective=objective)
    assert history[0][0][M.FUSED_MEMBERS] == 2
    for j, flat in enumerate(flats):
        alone = rows_of(bundle, flat, objective)
        for fused, plain in zip((h[j] for h in history), alone):
            for key in (M.TRAIN_LOSS, M.VAL_LOSS, M.TEST_LOSS):
                assert fused[key] == pytest.approx(plain[key], rel=1e-4), (j, key)
