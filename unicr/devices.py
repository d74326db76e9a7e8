"""The one place a device name becomes a ``torch.device`` (smoothing, training, Monte Carlo).

Torch is imported inside :func:`resolve_device`, never at ``import unicr`` time.
"""

from __future__ import annotations

from typing import Any

from unicr.errors import InvalidParameterError

__all__ = ["resolve_device"]


def resolve_device(device: Any = None, model: Any = None) -> Any:
    """A validated ``torch.device`` for ``device``, or the model's device when it is None.

    Parameters
    ----------
    device : str, torch.device or None
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (case and surrounding spaces ignored) or a
        ``torch.device``.  None: the device of the model's first parameter (or buffer), the
        CPU for a parameter-free model or no model.
    model : torch.nn.Module, optional
        consulted only when ``device`` is None.

    Returns
    -------
    torch.device
        ``torch.device("cpu")`` or ``torch.device("cuda", N)`` with its index made explicit
        (``"cuda"`` means the current CUDA device), so that devices compare equal to the
        devices of tensors placed on them.

    Raises
    ------
    InvalidParameterError
        for a name torch does not parse, a device type other than cpu/cuda, CUDA when it is
        absent, and an index beyond the visible CUDA devices.
    """
    import torch

    if device is None:
        if model is not None:
            for p in model.parameters():
                return p.device
            for b in model.buffers():
                return b.device
        return torch.device("cpu")
    if isinstance(device, torch.device):
        dev = device
    else:
        try:
            dev = torch.device(str(device).strip().lower())
        except (RuntimeError, TypeError, ValueError) as exc:
            raise InvalidParameterError(
                f"device {device!r} is not a valid device name ({exc}); use 'cpu', 'cuda' or "
                "'cuda:N'"
            ) from None
    if dev.type == "cpu":
        return torch.device("cpu")
    if dev.type != "cuda":
        raise InvalidParameterError(
            f"device {device!r}: unicr runs on 'cpu' or 'cuda[:N]' only"
        )
    if not torch.cuda.is_available():
        raise InvalidParameterError(f"device {device!r} requested but CUDA is not available "
                                    "(torch.cuda.is_available() is False); use device='cpu'")
    idx = dev.index if dev.index is not None else torch.cuda.current_device()
    count = torch.cuda.device_count()
    if not 0 <= idx < count:
        raise InvalidParameterError(f"device {device!r}: CUDA device index {idx} does not exist "
                                    f"({count} visible)")
    return torch.device("cuda", idx)
