"""Keep glibc from unmapping torch's large CPU buffers between batches (measured ~2x).

torch's CPU allocator takes every activation from ``malloc``; glibc maps buffers above its
mmap threshold (at most 32 MiB with the default adaptive threshold) afresh and unmaps them
on free, so every batch page-faults its activations back in and the kernel zeroes them.
With a 1 GiB threshold and no trimming they are reused (docs/benchmarks.md, smoothing
section: 4,805 -> 9,530 noisy forward passes per CPU-second for the small CNN).

The setting is process-wide and cannot be undone, so the library never calls it by itself:
the ``unicr certify`` and ``unicr train`` commands, which own their process, do.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # <malloc.h>
_M_MMAP_THRESHOLD = -3


def cache_allocator() -> bool:
    """Raise glibc's mmap and trim thresholds; False (and nothing changed) elsewhere."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30)
                  and libc.mallopt(_M_TRIM_THRESHOLD, (1 << 31) - 1))
    except (OSError, AttributeError):
        ok = False
    log.debug("malloc cache for large buffers: %s", "on" if ok else "unavailable")
    return ok
