"""Data sets as simple indexable collections of ``(image in [0, 1], label)``.

* Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) from IDX files, by default those of
  Debian's ``dataset-fashion-mnist`` package (/usr/share/datasets/fashion-mnist);
* CIFAR-10 (Krizhevsky 2009) in its python-pickle batch format from a user directory;
* an ImageNet-style image folder (``root/<class>/<image>``), resized and centre-cropped
  as in Cohen et al. 2019's ImageNet test transform (shorter side 256, crop 224).

Images are returned as float32 tensors in [0, 1] of shape (C, H, W): the models
normalise internally (noise is added in pixel space).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from unicr.data.formats import IMAGE_EXTENSIONS, DataError, read_cifar_batch, read_idx

__all__ = [
    "Dataset",
    "ArrayDataset",
    "ImageFolderDataset",
    "fashion_mnist",
    "cifar10",
    "image_folder",
    "imagenet",
    "load_dataset",
    "DATASETS",
    "FASHION_MNIST_DIR",
    "FASHION_MNIST_CLASSES",
    "CIFAR10_CLASSES",
]

#: where Debian's dataset-fashion-mnist package installs the IDX files
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")


class Dataset:
    """Indexable ``(x, label)`` collection with name, split, input_shape and num_classes."""

    name: str
    split: str
    input_shape: tuple[int, ...]
    num_classes: int
    classes: tuple[str, ...]
    source: str

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What identifies the data in a results header."""
        return {"name": self.name, "split": self.split, "size": len(self),
                "input_shape": list(self.input_shape), "source": self.source}


class ArrayDataset(Dataset):
    """In-memory uint8 images ``(N, C, H, W)`` and integer labels."""

    def __init__(self, images: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor, *,
                 name: str, split: str, num_classes: int | None = None,
                 classes: Sequence[str] = (), source: str = ""):
        imgs = torch.as_tensor(np.asarray(images))
        labs = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
        if imgs.ndim == 3:
            imgs = imgs.unsqueeze(1)
        if imgs.ndim != 4 or imgs.dtype != torch.uint8:
            raise DataError(f"{name} ({source}): expected uint8 images of shape (N, C, H, W), "
                            f"got {imgs.dtype} {tuple(imgs.shape)}")
        if labs.shape != (imgs.shape[0],):
            raise DataError(f"{name} ({source}): {labs.shape[0]} labels for {imgs.shape[0]} images")
        self.images = imgs
        self.labels = labs
        self.name = name
        self.split = split
        self.input_shape = tuple(int(s) for s in imgs.shape[1:])
        k = int(labs.max().item()) + 1 if labs.numel() else 0
        self.num_classes = int(num_classes) if num_classes is not None else k
        if labs.numel() and (int(labs.min()) < 0 or k > self.num_classes):
            raise DataError(f"{name} ({source}): labels outside 0..{self.num_classes - 1}")
        self.classes = tuple(classes)
        self.source = source

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i].to(torch.float32) / 255.0, int(self.labels[i])

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Float images in [0, 1] and labels for a tensor of indices (used by training)."""
        return self.images[indices].to(torch.float32) / 255.0, self.labels[indices]

    def subset(self, indices: Sequence[int] | torch.Tensor) -> ArrayDataset:
        idx = torch.as_tensor(indices, dtype=torch.int64)
        return ArrayDataset(self.images[idx], self.labels[idx], name=self.name, split=self.split,
                            num_classes=self.num_classes, classes=self.classes,
                            source=f"{self.source} [subset of {idx.numel()}]")


def _find(root: Path, stem: str) -> Path | None:
    for cand in (root / stem, root / f"{stem}.gz"):
        if cand.is_file():
            return cand
    return None


def fashion_mnist(split: str = "test", root: str | os.PathLike[str] | None = None) -> ArrayDataset:
    """Fashion-MNIST (Xiao et al. 2017) from ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``.

    ``root`` defaults to ``$UNICR_FASHION_MNIST_DIR`` or /usr/share/datasets/fashion-mnist
    (Debian package ``dataset-fashion-mnist``).
    """
    if split not in ("train", "test"):
        raise DataError(f"fashion-mnist: split must be 'train' or 'test', got {split!r}")
    base = Path(root) if root is not None else Path(
        os.environ.get("UNICR_FASHION_MNIST_DIR", FASHION_MNIST_DIR))
    prefix = "train" if split == "train" else "t10k"
    stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    found = [_find(base, s) for s in stems]
    if any(f is None for f in found):
        missing = [s for s, f in zip(stems, found) if f is None]
        raise DataError(
            f"Fashion-MNIST {split} split not found in {base}: missing {', '.join(missing)} "
            "(IDX format, optionally .gz). Install the Debian package dataset-fashion-mnist "
            "(apt-get install dataset-fashion-mnist) or pass the folder holding the IDX files "
            "(--data-dir / root=)."
        )
    images = read_idx(found[0])  # type: ignore[arg-type]
    labels = read_idx(found[1])  # type: ignore[arg-type]
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{found[0]}: expected uint8 images of shape (N, 28, 28), "
                        f"got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataError(f"{found[1]}: expected {images.shape[0]} labels, got shape {labels.shape}")
    return ArrayDataset(images, labels.astype(np.int64), name="fashion-mnist", split=split,
                        num_classes=10, classes=FASHION_MNIST_CLASSES, source=str(found[0]))


def cifar10(split: str = "test", root: str | os.PathLike[str] | None = None) -> ArrayDataset:
    """CIFAR-10 (Krizhevsky 2009) from its python batches ``data_batch_1..5`` and ``test_batch``.

    ``root`` is the folder holding the batches or its parent (``cifar-10-batches-py``);
    default ``$UNICR_CIFAR10_DIR``.
    """
    if split not in ("train", "test"):
        raise DataError(f"cifar10: split must be 'train' or 'test', got {split!r}")
    if root is None:
        env = os.environ.get("UNICR_CIFAR10_DIR")
        if env is None:
            raise DataError(
                "CIFAR-10: no data directory given; pass --data-dir (root=) or set "
                "UNICR_CIFAR10_DIR to the folder with the python batches (data_batch_1..5, "
                "test_batch from cifar-10-python.tar.gz)"
            )
        root = env
    base = Path(root)
    if (base / "cifar-10-batches-py").is_dir():
        base = base / "cifar-10-batches-py"
    names = ["test_batch"] if split == "test" else [f"data_batch_{i}" for i in range(1, 6)]
    missing = [n for n in names if not (base / n).is_file()]
    if missing:
        raise DataError(
            f"CIFAR-10 {split} split not found in {base}: missing {', '.join(missing)} "
            "(the python-pickle batches of cifar-10-python.tar.gz)"
        )
    parts = [read_cifar_batch(base / n) for n in names]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return ArrayDataset(images, labels, name="cifar10", split=split, num_classes=10,
                        classes=CIFAR10_CLASSES, source=str(base))


class ImageFolderDataset(Dataset):
    """Images under ``root/<class name>/...``, classes in sorted order, decoded lazily with PIL.

    Each image is converted to RGB, its shorter side resized to ``resize`` (bilinear)
    and centre-cropped to ``size`` x ``size`` (Cohen et al. 2019's ImageNet test
    transform: 256 then 224).  ``resize=None`` skips resizing (images must then be
    at least ``size`` on each side); ``size=None`` keeps the resized image as is.
    """

    def __init__(self, root: str | os.PathLike[str], *, size: int | None = 224,
                 resize: int | None = 256, name: str = "image-folder", split: str = ""):
        base = Path(root)
        if not base.is_dir():
            raise DataError(
                f"image folder {base} does not exist; expected an ImageNet-style layout "
                "root/<class name>/<image files>"
            )
        classes = sorted(d.name for d in base.iterdir()
                         if d.is_dir() and not d.name.startswith("."))
        samples: list[tuple[Path, int]] = []
        for k, c in enumerate(classes):
            files = sorted(f for f in (base / c).rglob("*")
                           if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
            samples += [(f, k) for f in files]
        if not samples:
            raise DataError(
                f"image folder {base} holds no images; expected root/<class name>/<image> with "
                f"extensions {', '.join(IMAGE_EXTENSIONS)}"
            )
        self.root = base
        self.samples = samples
        self.classes = tuple(classes)
        self.num_classes = len(classes)
        self.size = size
        self.resize = resize
        self.name = name
        self.split = split
        self.source = str(base)
        x0, _ = self[0]
        self.input_shape = tuple(int(s) for s in x0.shape)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image, UnidentifiedImageError

        path, label = self.samples[i]
        try:
            with Image.open(path) as im:
                img = im.convert("RGB")
        except (OSError, UnidentifiedImageError) as exc:
            raise DataError(f"cannot decode image {path}: {exc}") from None
        if self.resize is not None:
            w, h = img.size
            scale = self.resize / min(w, h)
            nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
            img = img.resize((nw, nh), Image.BILINEAR)
        if self.size is not None:
            w, h = img.size
            if w < self.size or h < self.size:
                raise DataError(f"image {path} is {w}x{h}, smaller than the crop {self.size}")
            left, top = (w - self.size) // 2, (h - self.size) // 2
            img = img.crop((left, top, left + self.size, top + self.size))
        arr = np.asarray(img, dtype=np.uint8).copy()
        x = torch.from_numpy(arr).permute(2, 0, 1).to(torch.float32) / 255.0
        return x, label


def image_folder(root: str | os.PathLike[str], size: int | None = 224,
                 resize: int | None = 256) -> ImageFolderDataset:
    """An ImageNet-style folder ``root/<class>/<image>`` (see :class:`ImageFolderDataset`)."""
    return ImageFolderDataset(root, size=size, resize=resize)


def imagenet(split: str = "test", root: str | os.PathLike[str] | None = None) -> ImageFolderDataset:
    """ImageNet as Cohen et al. 2019 read it: ``root/val`` (test) or ``root/train``, class folders.

    ``root`` defaults to ``$IMAGENET_DIR`` (Cohen et al.'s variable).
    """
    if split not in ("train", "test"):
        raise DataError(f"imagenet: split must be 'train' or 'test', got {split!r}")
    if root is None:
        env = os.environ.get("IMAGENET_DIR")
        if env is None:
            raise DataError("ImageNet: no data directory given; pass --data-dir (root=) or set "
                            "IMAGENET_DIR to a folder with train/ and val/ class sub-folders")
        root = env
    sub = Path(root) / ("val" if split == "test" else "train")
    if not sub.is_dir():
        raise DataError(f"ImageNet {split} split not found: {sub} does not exist (expected "
                        "root/val/<class>/<image> and root/train/<class>/<image>)")
    return ImageFolderDataset(sub, name="imagenet", split=split)


#: name -> loader(split, root)
DATASETS = {
    "fashion-mnist": fashion_mnist,
    "cifar10": cifar10,
    "imagenet": imagenet,
}

_ALIASES = {"fashion_mnist": "fashion-mnist", "fmnist": "fashion-mnist",
            "fashionmnist": "fashion-mnist", "cifar-10": "cifar10", "cifar_10": "cifar10",
            "image_folder": "image-folder", "folder": "image-folder", "imagefolder": "image-folder"}


def _image_folder_split(split: str, root: str | os.PathLike[str] | None) -> ImageFolderDataset:
    if root is None:
        raise DataError("image-folder: give the folder with --data-dir (root=); expected layout "
                        "root/<class name>/<image files>")
    return ImageFolderDataset(root, split=split)


DATASETS["image-folder"] = _image_folder_split


def load_dataset(name: str, split: str = "test",
                 root: str | os.PathLike[str] | None = None) -> Dataset:
    """Load a data set by name: fashion-mnist, cifar10, imagenet or image-folder."""
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in DATASETS:
        raise DataError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[key](split, root)
