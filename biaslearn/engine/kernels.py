"""Kernel choice: compiled native (AVX-512, else AVX2 + FMA, where present) -> compiled portable -> PyTorch.

`choose_kernel("auto")` takes the first that builds and passes its self-check; each fallback is
logged on "biaslearn.engine". "compiled", "portable" and "torch" ask for one path (a compiled
path that cannot be built still falls back to PyTorch, with a warning)."""

from __future__ import annotations

import logging

from biaslearn.engine.torch_kernel import TorchKernel

log = logging.getLogger("biaslearn.engine")


def choose_kernel(preference: str = "auto"):
    if preference == "torch":
        return TorchKernel()
    from biaslearn.engine import compiled

    variants = {"auto": ("native", "portable"), "compiled": ("native", "portable"), "portable": ("portable",)}[preference]
    for variant in variants:
        kernel = compiled.load(variant)
        if kernel is not None:
            return kernel
    log.warning("engine: no compiled kernel could be built; using the vectorised PyTorch kernel")
    return TorchKernel()
