"""Memory this machine can give: MemAvailable (Linux) or physical memory, and a check that
refuses an allocation that cannot fit with a message saying how much it needs."""

from __future__ import annotations

import os

from biaslearn.errors import BiaslearnError


def available_bytes() -> int:
    """MemAvailable from /proc/meminfo, or the physical memory where there is none."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_fits(nbytes: int, what: str) -> None:
    """Raise BiaslearnError if `nbytes` exceed the memory available now."""
    have = available_bytes()
    if nbytes > have:
        raise BiaslearnError(f"{what} needs {nbytes / 2**30:,.1f} GiB, but this machine has {have / 2**30:,.1f} GiB "
                             "available; use fewer units or a machine with more memory")
