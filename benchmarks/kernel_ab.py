"""A/B timing of fused.c builds: epochs of each build interleaved in one process on the same rows.

On a shared (virtual) machine the speed of separate runs drifts by 15-50% (neighbours, where the
rows land in physical memory), far more than most kernel changes. Interleaving the builds' epochs
in one process, on one cached row matrix, with the same batch orders, makes their times
comparable. Each build is gcc with the engine's native flags plus the variant's own; a variant may
name another source file (e.g. an older fused.c from `git show REV:biaslearn/engine/fused.c`).

    python benchmarks/kernel_ab.py --width 16384 --rounds 8 \\
        --variant base= --variant avx2=-mno-avx512f --variant old:/tmp/old.c=

(--pages adds, per variant, epochs on a copy of the rows in 4 KiB pages: "name@4k")

prints per variant the best and median seconds per epoch (bias learning, batch 256, Adam) and the
median relative to the first variant. The first round is a warm-up and is not counted."""

from __future__ import annotations

import argparse
import shlex
import statistics
import tempfile
import time
from pathlib import Path

import torch

import biaslearn as bl
from biaslearn import rng
from biaslearn.engine import compiled, configure, guard
from biaslearn.engine.hugepages import advise_huge
from biaslearn.engine.runner import EngineRunner
from biaslearn.training.methods import get_method


def parse_variant(text: str) -> tuple[str, Path, list[str]]:
    """'name[:source.c]=flags' -> (name, source, flags)."""
    head, sep, flags = text.partition("=")
    if not sep or not head:
        raise SystemExit(f"--variant: expected name[:source.c]=flags, got {text!r}")
    name, _, source = head.partition(":")
    path = Path(source) if source else compiled.SOURCE
    if not path.exists():
        raise SystemExit(f"--variant {name}: source {path} does not exist")
    return name, path, shlex.split(flags)


def build(name: str, source: Path, flags: list[str], folder: Path) -> compiled.CompiledKernel:
    """The variant compiled like the engine's native build (plus its flags), self-checked."""
    target = folder / f"fused-{name}.so"
    try:
        compiled.compile_source(source, "native", target, flags)
    except RuntimeError as err:
        raise SystemExit(f"variant {name}: {err}")
    verdict = guard.run_check(name, target)  # in a child process, like the engine's own builds
    if not verdict.good:
        raise SystemExit(f"variant {name}: {verdict.reason} in its self-check")
    return compiled.CompiledKernel(name, target)


def pages_of(t: torch.Tensor) -> str:
    """How much of t's memory the kernel backs with huge pages (from /proc/self/smaps)."""
    start, stop = t.data_ptr(), t.data_ptr() + t.numel() * t.element_size()
    huge, inside = 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo < stop and hi > start
            elif inside and head == "AnonHugePages:":
                huge += int(line.split()[1]) * 1024
    return f"{huge / 2**20:.0f} of {(stop - start) / 2**20:.0f} MiB in huge pages"


def epoch_seconds(kernel, rows, order, net, threads: int) -> float:
    """One epoch of bias learning from the net's initial state (fresh Adam state each time)."""
    units = net["units"]
    b, cs, c = net["b"].clone(), net["cs"], net["c"]
    param = b[:units].clone()
    spec = (param, torch.zeros(units), torch.zeros(units), torch.zeros((), dtype=torch.float32), (1e-3, 0.9, 0.999, 1e-8, 0.0))
    start = time.perf_counter()
    kernel.epoch(rows, order, 256, [{"b": b, "cs": cs, "c": c, "y": net["y"], "b1_adam": spec, "c_adam": None}], 0, threads)
    return time.perf_counter() - start


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=16384)
    p.add_argument("--cache", choices=("float32", "bfloat16"), default="float32")
    p.add_argument("--rounds", type=int, default=8, help="epochs per variant (the first is a warm-up)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--subset", type=int, default=0, help="use only this many training images (0: all)")
    p.add_argument("--variant", action="append", required=True, help="name[:source.c]=extra gcc flags (repeat)")
    p.add_argument("--pages", action="store_true",
                   help="also time each variant on a copy of the rows in 4 KiB pages (the cache asks for 2 MiB pages)")
    args = p.parse_args(argv)
    if args.rounds < 2:
        raise SystemExit(f"--rounds: expected at least 2 (one warm-up), got {args.rounds}")
    variants = [parse_variant(v) for v in args.variant]
    names = [name for name, _, _ in variants]
    if len(set(names)) != len(names):
        raise SystemExit(f"--variant: names must differ, got {names}")
    task = bl.load_task("fashion-mnist")
    if args.subset:
        task = bl.Task(task.name, task.train.subset(torch.arange(args.subset)), task.test, 10)
    net = bl.FeedForward(bl.NetworkSpec(784, (args.width,), 10, seed=0))
    with configure(cache=args.cache):
        runner = EngineRunner(net, task, get_method("bias"))
    rows = runner.rows(task.train).data
    b, cs, c = runner._operands()[:3]
    spec = {"units": args.width, "b": b, "cs": cs, "c": c, "y": task.train.y}
    copies = {"": rows}
    if args.pages:
        small = torch.empty_like(rows)
        if not advise_huge(small, huge=False):
            raise SystemExit("--pages: madvise(MADV_NOHUGEPAGE) failed or is not available here")
        small.copy_(rows)
        copies["@4k"] = small
    with tempfile.TemporaryDirectory() as tmp:
        kernels = [(name, build(name, source, flags, Path(tmp))) for name, source, flags in variants]
        times = {name + tag: [] for name, _ in kernels for tag in copies}
        generator = rng.generator(0, "kernel_ab/order")
        for round_ in range(args.rounds):
            order = torch.randperm(rows.shape[0], generator=generator)
            for name, kernel in kernels:
                for tag, data in copies.items():
                    seconds = epoch_seconds(kernel, data, order, spec, args.threads)
                    if round_:
                        times[name + tag].append(seconds)
    print(f"kernel_ab: width {args.width}, {args.cache} rows ({rows.shape[0]} x {rows.shape[1]}), "
          f"{args.threads} threads, {args.rounds - 1} timed epochs per variant, interleaved")
    first = statistics.median(times[kernels[0][0]])
    if args.pages:
        print(f"  pages: {pages_of(rows)} (the cache), {pages_of(copies['@4k'])} (the @4k copy)")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<20} best {min(values):.3f}  median {median:.3f} s/epoch  ({median / first:.2f}x of {kernels[0][0]})")


if __name__ == "__main__":
    main()
