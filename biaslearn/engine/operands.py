"""Checks of the buffers handed to the compiled kernel, made before every C call.

fused.c trusts its arguments: a row index past the end, a readout narrower than npad, a label >= k
or a workspace one float short is a read or write out of bounds, which may crash the process or,
worse, not. So the ctypes front end (compiled.py) checks here, before each call, that every buffer
is the dtype, layout and at least the size the C side touches, and raises BiaslearnError (naming
the operand, what was expected and what was received) instead of calling."""

from __future__ import annotations

import torch

from biaslearn.errors import BiaslearnError

KLIMIT = 64  # outputs fused.c handles (KLIMIT there)
ALIGN_BYTES = 64  # the workspace's alignment: AVX-512 aligned loads and stores (fused.c, layout())


def _fail(name: str, expected: str, got: str) -> None:
    raise BiaslearnError(f"engine kernel: {name}: expected {expected}, got {got}")


def tensor(name: str, t, dtype: torch.dtype, numel: int, contiguous: bool = True) -> None:
    """`t` is a CPU tensor of `dtype` with at least `numel` elements (contiguous if asked)."""
    if not torch.is_tensor(t):
        _fail(name, "a torch.Tensor", type(t).__name__)
    if t.device.type != "cpu" or t.dtype != dtype:
        _fail(name, f"a CPU {dtype} tensor", f"{t.device.type} {t.dtype}")
    if contiguous and not t.is_contiguous():
        _fail(name, "a contiguous tensor", f"strides {tuple(t.stride())}")
    if t.numel() < numel:
        _fail(name, f"at least {numel} elements", f"{t.numel()} (shape {tuple(t.shape)})")


def rows(t, npad: int) -> None:
    """Cached rows: (n, >= npad) float32 or bfloat16, unit column stride."""
    if not torch.is_tensor(t) or t.dtype not in (torch.float32, torch.bfloat16) or t.device.type != "cpu":
        _fail("rows", "a CPU float32 or bfloat16 tensor", f"{getattr(t, 'dtype', type(t).__name__)}")
    if t.dim() != 2 or t.stride(1) != 1 or t.stride(0) < npad:
        _fail("rows", f"a 2-d tensor of >= {npad} unit-stride columns", f"shape {tuple(t.shape)}, strides {tuple(t.stride())}")
    if t.shape[1] < npad:
        _fail("rows", f">= {npad} columns (the padded width)", f"{t.shape[1]}")


def index_range(name: str, index: torch.Tensor, limit: int) -> None:
    """Every entry of `index` in [0, limit)."""
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= limit):
        _fail(name, f"values in [0, {limit})", f"[{int(index.min())}, {int(index.max())}]")


def readout(b, cs, c) -> tuple[int, int]:
    """Operands b (npad), cs (k, npad), c (k), float32; returns (k, npad)."""
    if not torch.is_tensor(cs) or cs.dim() != 2:
        _fail("cs", "a 2-d (outputs, npad) tensor", f"{getattr(cs, 'shape', type(cs).__name__)}")
    k, npad = cs.shape
    if npad < 16 or npad % 16:
        _fail("cs", "a padded width that is a positive multiple of 16", f"{npad}")
    if not 1 <= k <= KLIMIT:
        _fail("cs", f"1 to {KLIMIT} outputs (larger: use the PyTorch kernel)", f"{k}")
    tensor("cs", cs, torch.float32, k * npad)
    tensor("b", b, torch.float32, npad)
    tensor("c", c, torch.float32, k)
    return k, npad


def targets(loss_kind: int, y, batch: int, k: int) -> None:
    """Labels in [0, k) (cross entropy) or batch x k float32 targets (mse)."""
    if loss_kind == 0:
        tensor("labels", y, torch.int64, batch)
        index_range("labels", y[:batch], k)
    else:
        tensor("targets", y, torch.float32, batch * k)


def workspace(work, need: int) -> None:
    """At least `need` float32 elements, 64-byte aligned."""
    tensor("workspace", work, torch.float32, need)
    if work.data_ptr() % ALIGN_BYTES:
        _fail("workspace", f"a {ALIGN_BYTES}-byte aligned address", f"{work.data_ptr():#x}")


def aligned_empty(numel: int) -> torch.Tensor:
    """An uninitialised float32 tensor of `numel` elements at a 64-byte aligned address."""
    spare = torch.empty(numel + ALIGN_BYTES // 4)
    skip = (-spare.data_ptr() % ALIGN_BYTES) // 4
    return spare[skip : skip + numel]
