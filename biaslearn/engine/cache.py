"""Cached first-layer rows: P = X W1^T (or H = relu(X W1^T + b1) when the biases are frozen too).

With frozen first-layer weights W1 (units, in_features) and a fixed dataset X (samples, in_features)
the projection P (samples, units) is the same every epoch. `Rows` holds it once, padded to a
multiple of 16 columns (zeros), as float32 or bfloat16, or computes batches on demand
(streaming) when the planner says it cannot be stored. Stored rows live in a process-wide store
keyed by (what, weights checksum, data checksum, storage), so calls and tasks sharing weights and
inputs (many bias vectors, seeds) reuse them; the store never holds more than the budget."""

from __future__ import annotations

import hashlib
import logging
import time
import weakref
from collections import OrderedDict

import torch

from biaslearn.engine.hugepages import advise_huge
from biaslearn.engine.planner import padded

log = logging.getLogger("biaslearn.engine")

CHUNK = 2048  # rows per projection chunk while building (bounds the temporary)

_digests: dict[int, tuple] = {}  # id(tensor) -> (weakref, version, digest)
_store: "OrderedDict[tuple, Rows]" = OrderedDict()


def tensor_digest(t: torch.Tensor) -> str:
    """BLAKE2b of a tensor's contents, memoised per live tensor object and version."""
    t = t.detach() if t.requires_grad else t
    hit = _digests.get(id(t))
    if hit is not None and hit[0]() is t and hit[1] == t._version:
        return hit[2]
    h = hashlib.blake2b(digest_size=16)
    h.update(str((tuple(t.shape), t.dtype)).encode())
    if t.numel():
        h.update(t.contiguous().numpy())
    digest = h.hexdigest()
    if len(_digests) > 256:
        _digests.clear()
    _digests[id(t)] = (weakref.ref(t), t._version, digest)
    return digest


class Rows:
    """Rows of P (or H) for one split. `batch(index)` -> (matrix, row indices into it);
    `block(start, stop)` -> (matrix, first row) for contiguous evaluation chunks."""

    def __init__(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, storage: str):
        self.samples, self.units = x.shape[0], weight.shape[0]
        self.npad = padded(self.units)
        self.storage = storage
        self.x, self.weight = x, weight.detach()
        self.bias = None if bias is None else bias.detach().clone()  # activity cache: relu(P + bias)
        self.data = None if storage == "stream" else self._build(torch.float32 if storage == "float32" else torch.bfloat16)

    @property
    def nbytes(self) -> int:
        return 0 if self.data is None else self.data.numel() * self.data.element_size()

    def _rows(self, x: torch.Tensor) -> torch.Tensor:
        p = x @ self.weight.T
        if self.bias is not None:
            p = torch.relu(p + self.bias)
        return p

    def _build(self, dtype: torch.dtype, projection: "Rows | None" = None) -> torch.Tensor:
        """The stored rows; an activity cache with `projection` (float32 P of the same inputs and
        weights) is relu(P + b) from it, bitwise what the matmul gives, without the matmul."""
        start = time.perf_counter()
        data = torch.empty(self.samples, self.npad, dtype=dtype)
        advise_huge(data)  # before the first write, so that the pages are faulted in as huge pages
        data.zero_()
        with torch.no_grad():
            for i in range(0, self.samples, CHUNK):
                if projection is not None:
                    rows = torch.relu(projection.data[i : i + CHUNK, : self.units] + self.bias)
                else:
                    rows = self._rows(self.x[i : i + CHUNK])
                data[i : i + CHUNK, : self.units] = rows.to(dtype)
        log.debug("engine cache built: %d x %d %s in %.2f s%s", self.samples, self.units, dtype, time.perf_counter() - start,
                 " (from the stored projection)" if projection is not None else "")
        return data

    @classmethod
    def activity_from(cls, projection: "Rows", bias: torch.Tensor) -> "Rows":
        """relu(P + bias) rows built from stored float32 projection rows P."""
        rows = cls.__new__(cls)
        rows.samples, rows.units, rows.npad, rows.storage = projection.samples, projection.units, projection.npad, "float32"
        rows.x, rows.weight, rows.bias = projection.x, projection.weight, bias.detach().clone()
        rows.data = rows._build(torch.float32, projection)
        return rows

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.data is not None:
            return self.data, index
        return self.block_rows(self.x[index]), torch.arange(len(index))

    def block(self, start: int, stop: int) -> tuple[torch.Tensor, int]:
        if self.data is not None:
            return self.data, start
        return self.block_rows(self.x[start:stop]), 0

    def block_rows(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(x.shape[0], self.npad)
        with torch.no_grad():
            out[:, : self.units] = self._rows(x)
        return out


def key(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, storage: str) -> tuple:
    return ("activity" if bias is not None else "projection", tensor_digest(weight),
            "" if bias is None else tensor_digest(bias), tensor_digest(x), storage)


def get_rows(x, weight, bias, storage: str, budget: int) -> Rows:
    """Stored rows from the store, built if absent (evicting least recently used entries so the
    store stays within `budget`); streaming rows are never stored."""
    if storage == "stream":
        return Rows(x, weight, bias, storage)
    k = key(x, weight, bias, storage)
    if k in _store:
        _store.move_to_end(k)
        log.debug("engine cache reused: %d x %d %s", x.shape[0], weight.shape[0], storage)
        return _store[k]
    # an activity cache whose float32 projection is stored: relu(P + b) from it (no matmul)
    projection = _store.get(key(x, weight, None, storage)) if bias is not None and storage == "float32" else None
    need = x.shape[0] * padded(weight.shape[0]) * (4 if storage == "float32" else 2)
    while _store and sum(r.nbytes for r in _store.values()) + need > budget:
        _store.popitem(last=False)
    rows = Rows.activity_from(projection, bias) if projection is not None else Rows(x, weight, bias, storage)
    _store[k] = rows
    return rows


def stored_bytes() -> int:
    return sum(r.nbytes for r in _store.values())


def clear_cache() -> None:
    """Drop every stored row matrix (frees their memory once no runner holds them)."""
    _store.clear()
    _digests.clear()
