"""How the C allocator treats memory that numpy frees (glibc only).

By default glibc serves every block above its mmap threshold (128 KiB at start, rising
dynamically up to 32 MiB) with a fresh ``mmap`` and hands it back to the kernel on ``free``;
the top of the heap is trimmed likewise once more than 128 KiB of it are free. An analysis
that makes and drops large numpy temporaries over and over therefore pays for each of them
again in page faults: the kernel maps and zeroes every page anew.
:func:`keep_freed_memory` raises both thresholds so freed blocks stay with the process and
are reused by the next array of the same size.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["DEFAULT_THRESHOLD", "KEPT_MMAP_THRESHOLD", "KEPT_TRIM_THRESHOLD", "keep_freed_memory"]

#: ``mallopt`` parameters of glibc's ``<malloc.h>``.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

#: Blocks smaller than this (32 MiB: chunk temporaries, window buffers) come from the heap
#: and are reused after ``free``; larger ones (whole rasters) are still mapped and returned
#: on ``free``, so a hole they leave never stays resident. With 1 GiB instead, W1 of the peer
#: harness at 25 M cells (two 100 MB results, one after the other) peaked at 327 MB against
#: 260 MB without the setting; with 32 MiB at 275 MB, as fast.
KEPT_MMAP_THRESHOLD: int = 32 * 2**20

#: Free memory at the top of the heap is returned to the kernel only above this (2 GiB - 1).
KEPT_TRIM_THRESHOLD: int = 2**31 - 1

#: glibc's starting value of both thresholds (128 KiB), restored by ``enable=False``.
DEFAULT_THRESHOLD: int = 128 * 1024


def keep_freed_memory(enable: bool = True) -> bool:
    """Keep memory freed by large arrays in the process for reuse (glibc), or stop keeping it.

    With ``enable=True`` glibc's ``mallopt`` sets ``M_MMAP_THRESHOLD`` to 32 MiB and
    ``M_TRIM_THRESHOLD`` to 2**31 - 1: arrays below 32 MiB come from the heap, and what they
    free stays there for the next array instead of being returned to the kernel and faulted
    in again page by page. ``enable=False`` sets both back to glibc's starting value,
    128 KiB. The same as starting Python with ``MALLOC_MMAP_THRESHOLD_=33554432
    MALLOC_TRIM_THRESHOLD_=2147483647`` in the environment.

    Trade-off: system time falls, and the peak memory of a batch run rises only by freed
    heap blocks that a later, larger one could not reuse (15 MB on a 25 M-cell distance run,
    see :data:`KEPT_MMAP_THRESHOLD`); a long-lived process keeps its high-water mark
    resident after the work is done, until it exits. That is why importing :mod:`gis` does not do it
    and the QGIS plugin (which lives inside QGIS) does not call it; the ``innosite`` command
    does, once at start (``INNOSITE_KEEP_FREED_MEMORY=0`` turns that off), and a script
    processing large grids can call it first thing.

    Parameters
    ----------
    enable
        True to keep freed memory, False to restore glibc's starting thresholds. glibc's
        dynamic mmap threshold (which rises with the largest freed block, up to 32 MiB)
        stays off after any ``mallopt`` of the threshold, so the restored setting is the
        static 128 KiB.

    Returns
    -------
    bool
        True when both settings were applied; False when the C library is not glibc
        (macOS, Windows, musl) or refused them. Never raises.

    Examples
    --------
    At the start of a script (True on glibc, False elsewhere):

    >>> from gis.memory import keep_freed_memory
    >>> keep_freed_memory()  # doctest: +SKIP
    True
    """
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        mallopt = ctypes.CDLL(None).mallopt
        mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        mallopt.restype = ctypes.c_int
        mmap_value = KEPT_MMAP_THRESHOLD if enable else DEFAULT_THRESHOLD
        trim_value = KEPT_TRIM_THRESHOLD if enable else DEFAULT_THRESHOLD
        mmap_ok = mallopt(M_MMAP_THRESHOLD, mmap_value) == 1
        trim_ok = mallopt(M_TRIM_THRESHOLD, trim_value) == 1
    except (AttributeError, OSError, TypeError, ValueError):  # no glibc, no mallopt
        return False
    return mmap_ok and trim_ok
