"""Builds and loads the compiled kernel (fused.c) with gcc at first use, cached on disk.

Two builds: "native" (-march=native: the register-blocked AVX-512 path where the CPU has it, else
the AVX2 + FMA path of fused_avx2.h) and "portable" (baseline x86-64/aarch64 code, plain C loops).
The shared object is cached under $BIASLEARN_CACHE_DIR or $XDG_CACHE_HOME/biaslearn or
~/.cache/biaslearn, named by a hash of the sources, flags, compiler and CPU, so a new machine or a
new source compiles afresh. A build is loaded only once its self-check against the PyTorch kernel
passed in a child process (guard.py, selfcheck.py); any failure (no compiler, build error, crash,
hang, mismatch) is logged and the caller falls back to the next path. Every call checks its
buffers first (operands.py)."""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

from biaslearn.engine import guard, operands
from biaslearn.errors import BiaslearnError

log = logging.getLogger("biaslearn.engine")

SOURCE = Path(__file__).with_name("fused.c")
HEADERS = (Path(__file__).with_name("fused_avx2.h"),)  # included by fused.c: part of the build's hash
FLAGS = {
    "native": ["-O3", "-fno-math-errno", "-fopenmp", "-march=native", "-fPIC", "-shared", "-std=c11"],
    "portable": ["-O3", "-fno-math-errno", "-fopenmp", "-fPIC", "-shared", "-std=c11"],
}
_loaded: dict[str, "CompiledKernel | None"] = {}
MIN_WORK = 2**17  # rows x padded units per thread below which fewer threads are used


def cache_dir() -> Path:
    root = os.environ.get("BIASLEARN_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    base = Path(root) if root else Path.home() / ".cache"
    return (base if os.environ.get("BIASLEARN_CACHE_DIR") else base / "biaslearn") / "kernels"


def _cpu_id() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            lines = [l for l in f if l.startswith(("model name", "flags", "Features"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor()


def compiler() -> str:
    """The C compiler: $CC, else gcc, else cc."""
    found = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not found:
        raise RuntimeError("no C compiler (gcc/cc) on PATH")
    return found


def compile_source(source: Path, variant: str, out: Path, extra: list[str] | tuple = ()) -> None:
    """Compile `source` with `variant`'s flags (plus `extra`) into the shared object `out`."""
    flags = FLAGS[variant]
    if variant == "native" and platform.machine() not in ("x86_64", "AMD64"):
        flags = [f if f != "-march=native" else "-mcpu=native" for f in flags]
    cc = compiler()
    include = f"-I{SOURCE.parent}"  # fused.c's headers, also for a variant's source elsewhere (benchmarks/kernel_ab.py)
    result = subprocess.run([cc, *flags, include, *extra, str(source), "-o", str(out), "-lm"], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{cc} failed: {result.stderr.strip()[:2000]}")


def build(variant: str) -> Path:
    """Compile fused.c for `variant` (or reuse the cached build); returns the .so path."""
    version = subprocess.run([compiler(), "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
    sources = SOURCE.read_bytes() + b"".join(h.read_bytes() for h in HEADERS)
    digest = hashlib.sha256(
        sources + repr((FLAGS[variant], version, platform.machine(), _cpu_id() if variant == "native" else "")).encode()
    ).hexdigest()[:16]
    target = cache_dir() / f"fused-{variant}-{digest}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / target.name
        compile_source(SOURCE, variant, out)
        os.replace(out, target)
    log.info("engine kernel compiled: %s", target)
    return target


def _ptr(t: torch.Tensor | None):
    return ctypes.c_void_p(t.data_ptr() if t is not None else 0)


class _Net(ctypes.Structure):
    """fused.c's Net: one network's operands, labels, Adam state and outputs for bl_epoch."""

    _fields_ = [(name, ctypes.c_void_p) for name in ("b", "cs", "c", "labels", "targets", "p_b1", "m_b1", "v_b1", "t_b1")]
    _fields_ += [("hyper_b1", ctypes.c_double * 5)]
    _fields_ += [(name, ctypes.c_void_p) for name in ("p_c", "m_c", "v_c", "t_c")]
    _fields_ += [("hyper_c", ctypes.c_double * 5)]
    _fields_ += [(name, ctypes.c_void_p) for name in ("gb", "gc", "losses", "work")]


class CompiledKernel:
    """ctypes front end of fused.c with the same methods as TorchKernel."""

    def __init__(self, variant: str, path: Path):
        self.variant, self.path = variant, path
        self.lib = ctypes.CDLL(str(path))
        self.lib.bl_step.restype = ctypes.c_double
        self.lib.bl_logits.restype = None
        self.lib.bl_simd_bits.restype = ctypes.c_int
        self.lib.bl_workspace.restype = ctypes.c_int64
        self.lib.bl_workspace.argtypes = [ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int]
        self.lib.bl_adam.restype = None
        self.lib.bl_adam.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_int64, ctypes.c_void_p] + [ctypes.c_double] * 5 + [ctypes.c_void_p]
        self.lib.bl_epoch.restype = ctypes.c_int64
        self.simd = {512: "avx512", 256: "avx2"}.get(int(self.lib.bl_simd_bits()), "")  # "": plain C loops
        self.name = f"compiled-{variant}" + (f"-{self.simd}" if self.simd else "")
        self._work = torch.empty(0)

    def _workspace_size(self, rows: int, threads: int, npad: int, k: int) -> int:
        return int(self.lib.bl_workspace(rows, npad, k, threads))

    def _workspace(self, need: int) -> torch.Tensor:
        """The kernel's scratch memory, kept between calls: at least `need` floats, 64-byte aligned."""
        if self._work.numel() < need:
            self._work = operands.aligned_empty(need)
        return self._work

    @staticmethod
    def _threads(threads, rows: int, npad: int) -> int:
        """Requested threads (default torch's), but at least MIN_WORK row-units per thread: a
        small batch is faster on one thread than paying a fork/join (and, on a busy machine, a
        wake-up) per batch."""
        threads = max(1, int(threads or torch.get_num_threads()))
        return max(1, min(threads, rows * npad // MIN_WORK))

    def step(self, rows, index, b, cs, c, loss_kind, y, want_gb, want_g, threads=None):
        k, npad = operands.readout(b, cs, c)
        operands.rows(rows, npad)
        index = index.to(torch.int64).contiguous()
        batch = index.numel()
        if batch < 1:
            raise BiaslearnError("engine kernel: index: expected at least one row, got an empty batch")
        operands.index_range("index", index, rows.shape[0])
        threads = self._threads(threads, batch, npad)
        gb = operands.aligned_empty(npad) if want_gb else None
        g = torch.empty(k, npad) if want_g else None
        gc = torch.empty(k)
        labels = y.to(torch.int64).contiguous() if loss_kind == 0 else None
        targets = y.to(torch.float32).contiguous() if loss_kind != 0 else None
        operands.targets(loss_kind, labels if loss_kind == 0 else targets, batch, k)
        need = self._workspace_size(batch, threads, npad, k)
        work = self._workspace(need)
        operands.workspace(work, need)
        total = self.lib.bl_step(
            _ptr(rows), ctypes.c_int64(rows.stride(0)), ctypes.c_int(rows.dtype == torch.bfloat16),
            _ptr(index), ctypes.c_int64(batch), _ptr(b), _ptr(cs), _ptr(c), ctypes.c_int64(npad), ctypes.c_int64(k),
            ctypes.c_int(loss_kind), _ptr(labels), _ptr(targets), ctypes.c_int(bool(want_gb)), ctypes.c_int(bool(want_g)),
            _ptr(gb), _ptr(g), _ptr(gc), _ptr(work), ctypes.c_int(threads),
        )
        per = batch if loss_kind == 0 else batch * k
        return total / per, gb, g, gc

    def adam(self, param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, mirror=None) -> None:
        """One torch.optim.Adam step in C on contiguous float32 tensors, in place (see bl_adam);
        `step` is the state's float32 scalar step tensor; `mirror` gets a copy of the new values."""
        n = param.numel()
        for name, t in (("param", param), ("grad", grad), ("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)) + (
                (("mirror", mirror),) if mirror is not None else ()):
            operands.tensor(name, t, torch.float32, n)
        operands.tensor("step", step, torch.float32, 1)
        self.lib.bl_adam(param.data_ptr(), grad.data_ptr(), exp_avg.data_ptr(), exp_avg_sq.data_ptr(), param.numel(),
                         step.data_ptr(), lr, beta1, beta2, eps, weight_decay, mirror.data_ptr() if mirror is not None else None)

    def epoch(self, rows, order, batch_size, nets, loss_kind, threads=None) -> list[tuple[list[float], torch.Tensor, torch.Tensor]]:
        """Whole epochs in one call (bl_epoch) of one or several networks sharing `rows`: per
        batch of `order`, each network's step and Adam updates in turn. `nets`: dicts with b, cs, c
        (operands, all (.., npad) alike), y (labels or targets by sample) and b1_adam / c_adam:
        None (not trained) or (param, exp_avg, exp_avg_sq, step, (lr, beta1, beta2, eps,
        weight_decay)); the operands b and c are kept equal to the parameters. Returns per network
        the batches' mean losses and the last batch's gradients (gb padded, gc)."""
        if not nets:
            raise BiaslearnError("engine kernel: nets: expected at least one network, got none")
        k, npad = operands.readout(nets[0]["b"], nets[0]["cs"], nets[0]["c"])
        operands.rows(rows, npad)
        order = order.to(torch.int64).contiguous()
        count = order.numel()
        if batch_size < 1 or count < 1:
            raise BiaslearnError(f"engine kernel: expected a batch size >= 1 and samples, got {batch_size} and {count}")
        operands.index_range("order", order, rows.shape[0])
        batch = min(batch_size, count)
        threads = self._threads(threads, batch, npad)
        need = self._workspace_size(batch, threads, npad, k)
        keep, structs, outputs = [], (_Net * len(nets))(), []  # keep: tensors the C call reads, alive until it returns
        units = 0
        for i, net in enumerate(nets):
            if operands.readout(net["b"], net["cs"], net["c"]) != (k, npad):
                raise BiaslearnError(f"engine kernel: network {i}: expected {k} x {npad} operands like network 0's, "
                                     f"got {tuple(net['cs'].shape)}")
            gb, gc = operands.aligned_empty(npad).zero_(), torch.zeros(k)
            losses = torch.empty((count + batch_size - 1) // batch_size, dtype=torch.float64)
            y = net["y"]
            labels = y.to(torch.int64).contiguous() if loss_kind == 0 else None
            targets = y.to(torch.float32).reshape(len(y), k).contiguous() if loss_kind != 0 else None
            operands.targets(loss_kind, labels if loss_kind == 0 else targets, rows.shape[0], k)  # indexed by sample
            work = self._workspace(need) if i == 0 else operands.aligned_empty(need)
            operands.workspace(work, need)
            keep += [gb, gc, losses, labels, targets, work]
            st = structs[i]
            st.b, st.cs, st.c = net["b"].data_ptr(), net["cs"].data_ptr(), net["c"].data_ptr()
            st.labels = labels.data_ptr() if labels is not None else None
            st.targets = targets.data_ptr() if targets is not None else None
            for name in ("b1", "c"):
                spec = net[f"{name}_adam"]
                if spec is None:
                    continue
                param, exp_avg, exp_avg_sq, step, hyper = spec
                size = npad if name == "b1" else k
                if param.numel() > size or (name == "c" and param.numel() != k):
                    raise BiaslearnError(f"engine kernel: network {i}: {name}: expected at most {size} parameters, got {param.numel()}")
                for label, t in (("param", param), ("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)):
                    operands.tensor(f"network {i} {name} {label}", t, torch.float32, param.numel())
                operands.tensor(f"network {i} {name} step", step, torch.float32, 1)
                if name == "b1" and units and param.numel() != units:
                    raise BiaslearnError(f"engine kernel: network {i}: b1: expected {units} parameters like network 0's, got {param.numel()}")
                setattr(st, f"p_{name}", param.data_ptr())
                setattr(st, f"m_{name}", exp_avg.data_ptr())
                setattr(st, f"v_{name}", exp_avg_sq.data_ptr())
                setattr(st, f"t_{name}", step.data_ptr())
                setattr(st, f"hyper_{name}", (ctypes.c_double * 5)(*hyper))
                if name == "b1":
                    units = param.numel()
            st.gb, st.gc, st.losses, st.work = gb.data_ptr(), gc.data_ptr(), losses.data_ptr(), work.data_ptr()
            outputs.append((losses, gb, gc))
        done = self.lib.bl_epoch(
            _ptr(rows), ctypes.c_int64(rows.stride(0)), ctypes.c_int(rows.dtype == torch.bfloat16), _ptr(order),
            ctypes.c_int64(count), ctypes.c_int64(batch_size), ctypes.c_int64(npad), ctypes.c_int64(k),
            ctypes.c_int64(units), ctypes.c_int(loss_kind), structs, ctypes.c_int64(len(nets)), ctypes.c_int(threads),
        )
        if done < 0:
            raise MemoryError("engine kernel: out of memory for the epoch's batch buffers")
        return [(losses.tolist(), gb, gc) for losses, gb, gc in outputs]

    def logits(self, rows, start, count, b, cs, c, threads=None):
        k, npad = operands.readout(b, cs, c)
        operands.rows(rows, npad)
        if count < 1 or start < 0 or start + count > rows.shape[0]:
            raise BiaslearnError(f"engine kernel: logits: expected rows [start, start + count) within the {rows.shape[0]} "
                                 f"rows, got start {start}, count {count}")
        threads = self._threads(threads, count, npad)
        out = torch.empty(count, k)
        index = torch.arange(start, start + count, dtype=torch.int64)
        need = self._workspace_size(count, threads, npad, k)
        work = self._workspace(need)
        operands.workspace(work, need)
        self.lib.bl_logits(
            _ptr(rows), ctypes.c_int64(rows.stride(0)), ctypes.c_int(rows.dtype == torch.bfloat16),
            _ptr(index), ctypes.c_int64(count), _ptr(b), _ptr(cs), _ptr(c), ctypes.c_int64(npad),
            ctypes.c_int64(k), _ptr(out), _ptr(work), ctypes.c_int(threads),
        )
        return out


def load(variant: str) -> CompiledKernel | None:
    """The compiled kernel for `variant` ("native" or "portable"), or None (reason logged).

    The build is loaded into this process only after its self-check passed in a child process
    (guard.py): a build that crashes, hangs or disagrees with the PyTorch kernel is marked bad in
    the kernel cache and skipped, with one warning. With BIASLEARN_REQUIRE_COMPILED=1 a build that
    fails to compile or is marked bad raises KernelUnavailable instead."""
    if variant not in _loaded:
        try:
            path = build(variant)
        except Exception as err:  # no compiler, a build error: use another path
            _unavailable(variant, f"could not be built ({err})")
            return None
        v = guard.verdict(variant, path)
        if not v.good:
            _unavailable(variant, f"{path} {v.reason} in its self-check (run in a child process); "
                                  f"marked bad in {guard.verdict_path(path)}")
            return None
        _loaded[variant] = CompiledKernel(variant, path)
        log.info("engine kernel %s: %s (self-check passed in a child process)", _loaded[variant].name, path)
    return _loaded[variant]


class KernelUnavailable(BiaslearnError):
    """A compiled kernel that must load (BIASLEARN_REQUIRE_COMPILED=1) did not."""


def _unavailable(variant: str, why: str) -> None:
    if guard.required():
        raise KernelUnavailable(f"engine kernel {variant} {why}; BIASLEARN_REQUIRE_COMPILED is set, so this is an "
                                f"error (unset it to fall back to the next kernel)")
    _loaded[variant] = None
    log.warning("engine kernel %s %s; falling back to the next kernel", variant, why)
