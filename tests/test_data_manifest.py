"""The CSV-manifest image data module ("DogSet") on small PNG/JPEG folders written with PIL."""

import os

import numpy as np
import PIL.Image
import pytest
import torch

from data_modules import DataError, load_dataset, trial_splits

COLORS = {"beagle": (200, 40, 40), "corgi": (40, 200, 40), "poodle": (40, 40, 200)}
# (file, label, partition as written): 6 train, 3 valid (three spellings), 3 test
ROWS = [
    ("train/b1.png", "beagle", "train"), ("train/c1.jpg", "corgi", "train"), ("train/p1.png", "poodle", "Train"),
    ("train/b2.jpg", "beagle", "train"), ("train/c2.png", "corgi", "train"), ("train/p2.png", "poodle", "TRAIN"),
    ("valid/b3.png", "beagle", "valid"), ("valid/c3.png", "corgi", "Validation"), ("valid/p3.jpg", "poodle", "val"),
    ("test/b4.png", "beagle", "test"), ("test/c4.jpg", "corgi", "test"), ("test/p4.png", "poodle", "Test"),
]


def write_image(path, color, size, mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = PIL.Image.new("RGB", size, color)
    if mode != "RGB" and path.suffix == ".png":  # JPEG stores RGB only
        img = img.convert(mode)
    img.save(path, quality=100) if path.suffix == ".jpg" else img.save(path)


def write_csv(path, rows, header="file,label,partition"):
    path.write_text("\n".join([header, *(",".join(r) for r in rows)]) + "\n")


@pytest.fixture
def dogs(tmp_path):
    """12 solid-colour images of varying sizes and modes (RGB, RGBA, P) and their dogs.csv."""
    for i, (name, label, _) in enumerate(ROWS):
        write_image(tmp_path / name, COLORS[label], (20 + 7 * i, 31 - i), mode=("RGB", "RGBA", "P")[i % 3])
    write_csv(tmp_path / "dogs.csv", ROWS)
    return tmp_path


def test_loads_partitions_shapes_and_classes(dogs):
    bundle = load_dataset("manifest", data_dir=dogs, image_size=16)
    assert bundle.meta.classes == ("beagle", "corgi", "poodle")
    assert bundle.meta.variant == "manifest:dogs.csv:16x16" and bundle.meta.input_shape == (3, 16, 16)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (6, 3, 3)
    for split in (bundle.train, bundle.val, bundle.test):
        assert split.x.shape[1:] == (3, 16, 16) and split.x.dtype == torch.uint8 and split.y.dtype == torch.int64
    assert bundle.train.y.tolist() == [0, 1, 2, 0, 1, 2]  # CSV order, labels indexed in sorted order
    assert bundle.test.y.tolist() == [0, 1, 2]
    # every image is decoded as RGB and resized: its centre pixel keeps its class colour (JPEG: within a few levels)
    for split in (bundle.train, bundle.val, bundle.test):
        for x, y in zip(split.x, split.y):
            expected = torch.tensor(COLORS[bundle.meta.classes[y]])
            assert (x[:, 8, 8].int() - expected).abs().max() <= 8
    expected_mean = (bundle.train.x.double() / 255).mean((0, 2, 3))
    assert np.allclose(bundle.meta.mean, expected_mean.tolist(), atol=1e-4)
    expected_std = (bundle.train.x.double() / 255).std((0, 2, 3), unbiased=False)
    assert np.allclose(bundle.meta.std, expected_std.tolist(), atol=1e-4)


def test_without_valid_rows_val_is_carved_from_train(dogs):
    write_csv(dogs / "novalid.csv", [r for r in ROWS if r[2].lower() in ("train", "test")] * 5)
    bundle = load_dataset("manifest", data_dir=dogs, manifest="novalid.csv", image_size=8)
    assert bundle.val is None and len(bundle.train) == 30
    data = trial_splits(bundle, val_fraction=0.2, train_size=12, test_size=15)
    assert (len(data.train), len(data.val), len(data.test)) == (12, 6, 15)


def test_empty_train_or_test_partition_is_an_error(dogs):
    write_csv(dogs / "notest.csv", [r for r in ROWS if r[2].lower() != "test"])
    with pytest.raises(DataError, match=r"notest.csv: no rows with partition 'test'"):
        load_dataset("manifest", data_dir=dogs, manifest="notest.csv", image_size=8)


def test_header_variants(dogs):
    # another column order, capitalised names with spaces, a byte-order mark (Excel's "CSV UTF-8")
    (dogs / "other.csv").write_text("\ufeffPartition, Label ,FileName\n" + "\n".join(f"{p},{lab},{f}" for f, lab, p in ROWS))
    bundle = load_dataset("manifest", data_dir=dogs, manifest="other.csv", image_size=8)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (6, 3, 3)


def test_cache_is_written_reused_and_invalidated(dogs, monkeypatch):
    calls = []
    real_open = PIL.Image.open
    monkeypatch.setattr(PIL.Image, "open", lambda *a, **k: calls.append(a) or real_open(*a, **k))
    first = load_dataset("manifest", data_dir=dogs, image_size=16)
    assert len(calls) == 12 and (dogs / ".dogs.csv.16x16.cache.pt").is_file()

    def refuse(*a, **k):
        raise AssertionError("decoded again")

    monkeypatch.setattr(PIL.Image, "open", refuse)
    second = load_dataset("manifest", data_dir=dogs, image_size=16)  # no decoding at all
    assert torch.equal(first.train.x, second.train.x) and torch.equal(first.val.y, second.val.y)
    assert first.meta == second.meta

    # a changed image (new content, new mtime) invalidates the cache
    monkeypatch.setattr(PIL.Image, "open", lambda *a, **k: calls.append(a) or real_open(*a, **k))
    calls.clear()
    write_image(dogs / "test/b4.png", (7, 7, 7), (20, 20))
    st = (dogs / "test/b4.png").stat()
    os.utime(dogs / "test/b4.png", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    third = load_dataset("manifest", data_dir=dogs, image_size=16)
    assert len(calls) == 12 and third.test.x[0, :, 0, 0].tolist() == [7, 7, 7]

    # another size is another cache file; a changed CSV invalidates too
    load_dataset("manifest", data_dir=dogs, image_size=8)
    assert (dogs / ".dogs.csv.8x8.cache.pt").is_file() and len(calls) == 24
    write_csv(dogs / "dogs.csv", ROWS[::-1])
    fourth = load_dataset("manifest", data_dir=dogs, image_size=16)
    assert len(calls) == 36 and fourth.test.y.tolist() == [2, 1, 0]


def test_corrupt_cache_is_rebuilt(dogs):
    load_dataset("manifest", data_dir=dogs, image_size=8)
    (dogs / ".dogs.csv.8x8.cache.pt").write_bytes(b"garbage")
    bundle = load_dataset("manifest", data_dir=dogs, image_size=8)
    assert len(bundle.train) == 6


def test_all_bad_rows_listed_in_one_line(dogs):
    (dogs / "b.png").write_bytes(b"this is not a png")
    lines = [
        "file,label,partition",            # 1
        "train/b1.png,beagle,train",       # 2
        "train/c1.jpg,corgi,train",        # 3
        "a.jpg,beagle,train",              # 4: missing file
        "test/b4.png,beagle,test",         # 5
        "",                                # 6: blank, skipped but counted
        "train/p1.png,poodle,dev",         # 7: unknown partition
        "test/c4.jpg,corgi,test",          # 8
        "b.png,poodle,train",              # 9: unreadable image
        "train/p2.png,,train",             # 10: empty label
        "gone.png,,holdout",               # 11: three problems
    ]
    (dogs / "dogs.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as e:
        load_dataset("manifest", data_dir=dogs, image_size=8)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg == (
        f"{dogs / 'dogs.csv'}: 5 bad rows: line 4: missing file 'a.jpg'; "
        "line 7: unknown partition 'dev' (allowed: train, valid, test); "
        "line 9: unreadable image 'b.png' (cannot identify image file); "
        "line 10: empty label; "
        "line 11: missing file 'gone.png', empty label, unknown partition 'holdout' (allowed: train, valid, test)"
    ), msg
    assert not (dogs / ".dogs.csv.8x8.cache.pt").exists()


def test_missing_manifest_and_columns(tmp_path):
    with pytest.raises(DataError, match=r"manifest .*nothere.csv does not exist"):
        load_dataset("manifest", data_dir=tmp_path, manifest="nothere.csv")
    (tmp_path / "dogs.csv").write_text("picture,breed,partition\nx.png,beagle,train\n")
    with pytest.raises(DataError) as e:
        load_dataset("manifest", data_dir=tmp_path)
    assert "'picture', 'breed', 'partition'" in str(e.value) and "file, path, image, filename" in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("size", [0, -4, 2000, 16.0, True])
def test_bad_image_size(tmp_path, size):
    with pytest.raises(DataError, match=rf"image_size {size!r} is not allowed; use an integer from 1 to 1024"):
        load_dataset("manifest", data_dir=tmp_path, image_size=size)
