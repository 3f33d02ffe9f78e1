"""Seeds and named random streams: (seed, stream name) -> an independent CPU torch.Generator.

Every random draw in biaslearn takes a generator made here, so that e.g. the frozen weights of
layer 0 come from stream "weights/0" whatever the batch size, data order or training method.
The mapping uses a stable hash (BLAKE2b), never Python's salted `hash`.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from biaslearn.errors import BiaslearnError


def stream_seed(seed: int, stream: str) -> int:
    """A 63-bit integer derived from `seed` and the stream name, stable across runs and platforms."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise BiaslearnError(f"seed: expected a non-negative int, got {seed!r}")
    digest = hashlib.blake2b(f"{seed}/{stream}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def generator(seed: int, stream: str) -> torch.Generator:
    """A fresh CPU generator for `stream` under `seed`. Two calls give identical streams."""
    g = torch.Generator(device="cpu")
    g.manual_seed(stream_seed(seed, stream))
    return g


def numpy_generator(seed: int, stream: str) -> np.random.Generator:
    """The numpy counterpart of `generator`: a fresh numpy Generator for `stream` under `seed`."""
    return np.random.default_rng(stream_seed(seed, stream))
