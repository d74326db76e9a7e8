"""Readers for standard on-disk formats: IDX (MNIST family), CIFAR python pickles, image folders.

No torchvision: every reader is a few lines of numpy/PIL.  Readers never execute
code from a file: CIFAR batches are unpickled with an allow-list of the numpy
reconstruction functions they legitimately contain.
"""

from __future__ import annotations

import gzip
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from unicr.errors import UnicrError

__all__ = ["DataError", "read_idx", "write_idx", "read_cifar_batch", "IMAGE_EXTENSIONS"]


class DataError(UnicrError, ValueError):
    """A data set is missing or is not in the expected format; the message names the path."""


# IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/): magic = 0, 0, type, ndim;
# then ndim big-endian int32 sizes; then the data, big-endian.
_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path} is a corrupt gzip file: {exc}") from None
    return raw


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a numpy array of its native shape."""
    p = Path(path)
    raw = _read_bytes(p)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{p} is not an IDX file (bad magic number {raw[:4]!r})")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        raise DataError(f"{p}: unknown IDX data type 0x{code:02x}")
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{p}: truncated IDX header ({ndim} dimensions)")
    dims = tuple(int(v) for v in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    dtype = _IDX_TYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(
            f"{p}: IDX header announces shape {dims} ({expected} bytes of data) but the file "
            f"holds {len(raw) - header} bytes"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when the name ends with .gz)."""
    p = Path(path)
    arr = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    native = arr.dtype.newbyteorder("=")
    if native not in codes:
        raise DataError(f"write_idx: dtype {arr.dtype} has no IDX type code")
    code = codes[native]
    out = io.BytesIO()
    out.write(bytes([0, 0, code, arr.ndim]))
    out.write(np.asarray(arr.shape, dtype=">i4").tobytes())
    out.write(arr.astype(_IDX_TYPES[code]).tobytes())
    data = out.getvalue()
    if compress is None:
        compress = p.name.endswith(".gz")
    p.write_bytes(gzip.compress(data) if compress else data)
    return p


class _SafeUnpickler(pickle.Unpickler):
    """Unpickler that allows only the numpy globals a CIFAR batch needs (no code execution)."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),  # bytes in protocol-2 pickles written by Python 3
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in a data file")


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch (Krizhevsky 2009): ``(images uint8 (N,3,32,32), labels)``.

    The file is a pickled dict with ``data`` (N x 3072 uint8, channel-major) and
    ``labels`` (list of ints); ``fine_labels`` (CIFAR-100) is accepted too.
    """
    p = Path(path)
    raw = _read_bytes(p)
    try:
        obj = _SafeUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise DataError(f"{p} is not a CIFAR python batch (pickle of a dict): {exc}") from None
    if not isinstance(obj, dict):
        raise DataError(f"{p} is not a CIFAR python batch: it holds a {type(obj).__name__}")
    d = {(k.decode() if isinstance(k, bytes) else k): v for k, v in obj.items()}
    data = d.get("data")
    labels = d.get("labels", d.get("fine_labels"))
    if data is None or labels is None:
        raise DataError(f"{p} is not a CIFAR python batch: keys 'data' and 'labels' are required "
                        f"(found {sorted(map(str, d))})")
    data = np.asarray(data)
    labels = np.asarray(labels, dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(f"{p}: 'data' must be uint8 of shape (N, 3072), got {data.dtype} "
                        f"{data.shape}")
    if labels.shape != (data.shape[0],):
        raise DataError(f"{p}: {labels.shape[0]} labels for {data.shape[0]} images")
    return data.reshape(-1, 3, 32, 32).copy(), labels


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff",
                    ".webp")
