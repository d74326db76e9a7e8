"""Data readers: the real Fashion-MNIST IDX files; tiny fixtures in IDX, CIFAR, folder format."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest
import torch

from unicr.data import (
    FASHION_MNIST_DIR,
    DataError,
    ImageFolderDataset,
    cifar10,
    fashion_mnist,
    load_dataset,
    read_cifar_batch,
    read_idx,
    write_idx,
)

# -- the real files of Debian's dataset-fashion-mnist package -------------------------------


def test_real_fashion_mnist_test_split():
    ds = fashion_mnist("test")
    assert len(ds) == 10_000 and ds.input_shape == (1, 28, 28) and ds.num_classes == 10
    assert str(FASHION_MNIST_DIR) in ds.source
    # Fashion-MNIST's test set holds exactly 1000 images per class
    assert torch.bincount(ds.labels, minlength=10).tolist() == [1000] * 10
    x, y = ds[0]
    assert x.dtype == torch.float32 and x.shape == (1, 28, 28)
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0 and y == 9  # an ankle boot


def test_real_fashion_mnist_train_split_from_the_idx_reader():
    labels = read_idx(FASHION_MNIST_DIR / "train-labels-idx1-ubyte.gz")
    images = read_idx(FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz")
    assert labels.shape == (60_000,) and images.shape == (60_000, 28, 28)
    assert images.dtype == np.uint8 and np.bincount(labels).tolist() == [6000] * 10
    assert labels[:5].tolist() == [9, 0, 0, 3, 0]


# -- IDX fixtures ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    arr = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    path = write_idx(tmp_path / name, arr)
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and np.array_equal(back, arr)


def test_idx_header_by_hand(tmp_path):
    raw = bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big") + bytes([7, 8, 9])
    (tmp_path / "x").write_bytes(raw)
    assert read_idx(tmp_path / "x").tolist() == [7, 8, 9]
    (tmp_path / "short").write_bytes(raw[:-1])
    with pytest.raises(DataError, match="short.*3 bytes of data"):
        read_idx(tmp_path / "short")
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DataError, match="bad.*not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "badgz.gz").write_bytes(b"\x1f\x8b" + b"\x00" * 5)
    with pytest.raises(DataError, match="badgz.gz"):
        read_idx(tmp_path / "badgz.gz")


def _write_fmnist(root, n=6, gz=True):
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labs = np.arange(n, dtype=np.uint8) % 10
    ext = ".gz" if gz else ""
    write_idx(root / f"t10k-images-idx3-ubyte{ext}", imgs)
    write_idx(root / f"t10k-labels-idx1-ubyte{ext}", labs)
    return imgs, labs


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_from_fixture(tmp_path, gz):
    imgs, labs = _write_fmnist(tmp_path, gz=gz)
    ds = fashion_mnist("test", root=tmp_path)
    assert len(ds) == 6 and ds.labels.tolist() == labs.tolist()
    x, _ = ds[3]
    torch.testing.assert_close(x[0], torch.from_numpy(imgs[3]).float() / 255)
    xb, yb = ds.batch(torch.tensor([0, 2]))
    assert xb.shape == (2, 1, 28, 28) and yb.tolist() == [0, 2]


def test_fashion_mnist_missing_names_path_and_package(tmp_path, monkeypatch):
    with pytest.raises(DataError) as exc:
        fashion_mnist("train", root=tmp_path)
    msg = str(exc.value)
    assert str(tmp_path) in msg and "train-images-idx3-ubyte" in msg
    assert "dataset-fashion-mnist" in msg and "IDX" in msg
    monkeypatch.setenv("UNICR_FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="nowhere"):
        load_dataset("fashion-mnist", "test")
    with pytest.raises(DataError, match="split"):
        fashion_mnist("val", root=tmp_path)


def test_fashion_mnist_wrong_shape_is_refused(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 5, 5), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(DataError, match=r"\(N, 28, 28\)"):
        fashion_mnist("test", root=tmp_path)


# -- CIFAR-10 python batches -----------------------------------------------------------------


def _cifar_batch(path, n, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, n)]
    with open(path, "wb") as f:  # the original files: protocol-2 pickles with bytes keys
        pickle.dump({b"batch_label": b"testing batch 1 of 1", b"labels": labels, b"data": data,
                     b"filenames": [b"x.png"] * n}, f, protocol=2)
    return data, labels


def test_cifar10_from_fixture(tmp_path):
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    data, labels = _cifar_batch(base / "test_batch", 4, 0)
    for i in range(1, 6):
        _cifar_batch(base / f"data_batch_{i}", 3, i)
    ds = cifar10("test", root=tmp_path)  # the parent folder works too
    assert len(ds) == 4 and ds.input_shape == (3, 32, 32) and ds.labels.tolist() == labels
    x, _ = ds[1]
    torch.testing.assert_close(x, torch.from_numpy(data[1].reshape(3, 32, 32)).float() / 255)
    assert len(cifar10("train", root=base)) == 15


def test_cifar10_errors(tmp_path):
    with pytest.raises(DataError, match=f"{tmp_path}.*test_batch"):
        cifar10("test", root=tmp_path)
    evil = tmp_path / "test_batch"

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(evil, "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f)
    with pytest.raises(DataError, match="not allowed"):
        read_cifar_batch(evil)
    with open(evil, "wb") as f:
        pickle.dump({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(DataError, match=r"\(N, 3072\)"):
        read_cifar_batch(evil)
    gz = tmp_path / "g"
    gz.write_bytes(gzip.compress(b"not a pickle"))
    with pytest.raises(DataError, match="CIFAR python batch"):
        read_cifar_batch(gz)


# -- ImageNet-style folders -----------------------------------------------------------------


def _image(path, size, colour):
    from PIL import Image

    Image.new("RGB", size, colour).save(path)


def test_image_folder_resize_and_crop(tmp_path):
    (tmp_path / "dog").mkdir()
    (tmp_path / "cat").mkdir()
    (tmp_path / ".hidden").mkdir()
    _image(tmp_path / "cat" / "a.png", (300, 260), (255, 0, 0))
    _image(tmp_path / "cat" / "b.JPG", (260, 400), (0, 0, 255))
    _image(tmp_path / "dog" / "c.png", (256, 256), (0, 255, 0))
    (tmp_path / "dog" / "notes.txt").write_text("ignored")
    ds = ImageFolderDataset(tmp_path)
    assert ds.classes == ("cat", "dog") and len(ds) == 3 and ds.input_shape == (3, 224, 224)
    x, y = ds[0]
    assert y == 0 and x.shape == (3, 224, 224)
    assert torch.allclose(x[0], torch.ones(224, 224)) and float(x[1:].abs().max()) == 0.0
    assert ds[2][1] == 1
    small = ImageFolderDataset(tmp_path, size=16, resize=None)
    assert small[2][0].shape == (3, 16, 16)
    assert load_dataset("image-folder", "test", tmp_path).num_classes == 2


def test_image_folder_errors(tmp_path):
    with pytest.raises(DataError, match=f"{tmp_path / 'missing'}.*root/<class name>"):
        ImageFolderDataset(tmp_path / "missing")
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    with pytest.raises(DataError, match="holds no images"):
        ImageFolderDataset(tmp_path / "empty")
    with pytest.raises(DataError, match="val"):
        load_dataset("imagenet", "test", tmp_path)
    with pytest.raises(DataError, match="unknown data set 'mnist2'"):
        load_dataset("mnist2")
    with pytest.raises(DataError, match="--data-dir"):
        load_dataset("image-folder", "test", None)
