"""Transparent huge pages for the large cached row matrices (Linux).

The kernels read every cached row once per epoch in shuffled order: with 4 KiB pages that is one
TLB miss (a page walk, nested under virtualisation) every 4 KiB. `advise_huge` asks the kernel to
back a fresh tensor's memory with 2 MiB pages (madvise MADV_HUGEPAGE, which works where
/sys/kernel/mm/transparent_hugepage/enabled is "madvise" or "always"); call it before the tensor's
memory is first written. Measured at 16,384 units, interleaved (benchmarks/kernel_ab.py --pages):
epochs 4-6% faster in each of 3 runs on a 2-vCPU AMD EPYC with AVX-512, 2-4% in 9 of 11 rounds on
one with AVX2 (docs/benchmarks.md). Elsewhere, or if the call fails, nothing changes."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

import torch

log = logging.getLogger("biaslearn.engine")

HUGE_PAGE = 2 << 20
MADV_HUGEPAGE, MADV_NOHUGEPAGE = 14, 15  # linux/mman.h
MIN_BYTES = 64 << 20  # smaller tensors gain nothing measurable

_libc = None


def _madvise():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        _libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        _libc.madvise.restype = ctypes.c_int
    return _libc.madvise


def advise_huge(t: torch.Tensor, huge: bool = True) -> bool:
    """Ask for 2 MiB pages under the 2 MiB-aligned interior of `t`'s memory (huge=False: ask for
    4 KiB pages, for comparisons); True if the kernel took the advice."""
    nbytes = t.numel() * t.element_size()
    if not sys.platform.startswith("linux") or nbytes < MIN_BYTES or not t.is_contiguous():
        return False
    start = (t.data_ptr() + HUGE_PAGE - 1) // HUGE_PAGE * HUGE_PAGE
    stop = (t.data_ptr() + nbytes) // HUGE_PAGE * HUGE_PAGE
    if stop <= start:
        return False
    try:
        done = _madvise()(start, stop - start, MADV_HUGEPAGE if huge else MADV_NOHUGEPAGE) == 0
    except (OSError, AttributeError) as err:
        log.debug("madvise unavailable (%s): 4 KiB pages", err)
        return False
    if not done:
        log.debug("madvise refused (errno %d): pages left as they are", ctypes.get_errno())
    return done
