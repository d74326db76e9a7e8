"""Data sets for certification and training: Fashion-MNIST (IDX), CIFAR-10 (python batches),
ImageNet-style image folders.  Images are float tensors in [0, 1], shape (C, H, W)."""

from unicr.data.datasets import (
    DATASETS,
    FASHION_MNIST_DIR,
    ArrayDataset,
    Dataset,
    ImageFolderDataset,
    cifar10,
    fashion_mnist,
    image_folder,
    imagenet,
    load_dataset,
)
from unicr.data.formats import DataError, read_cifar_batch, read_idx, write_idx

__all__ = [
    "DATASETS",
    "FASHION_MNIST_DIR",
    "ArrayDataset",
    "Dataset",
    "ImageFolderDataset",
    "DataError",
    "cifar10",
    "fashion_mnist",
    "image_folder",
    "imagenet",
    "load_dataset",
    "read_cifar_batch",
    "read_idx",
    "write_idx",
]
