"""Engine speed benchmark: the obvious PyTorch bias-only loop (A), full training (B) and the engine
(C) on Fashion-MNIST, measured in one run on one machine, with the machine's attainable bound.

    flock /tmp/biaslearn-cpu.lock env PYTHONPATH=. python benchmarks/engine_speed.py
    python benchmarks/engine_speed.py --quick          # small widths and subset (smoke test)

Per width: seconds per epoch (training passes only; evaluation and the one-time cache build are
reported separately), peak resident memory during each phase, A/C and B/C, test accuracy after
the same epochs for A and C, and C's distance to the bound max(FLOPs / matmul rate, bytes /
read bandwidth), both measured here (the best of the run's measurements). C's work per epoch:
FLOPs = 4 x rows x units x outputs (forward and backward, one multiply-add = 2 FLOPs each), bytes =
one read of every cached row.

Each width is measured twice: variants one after the other (peak memory, accuracy, times), then
`--rounds` interleaved rounds of A, B and C epochs on fresh models (times only), whose ratios are
the fair ones on a machine whose speed drifts (see `interleaved`)."""

from __future__ import annotations

import argparse
import ctypes
import functools
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import biaslearn as bl
from biaslearn import rng
from biaslearn.engine import clear_cache, compiled, configure
from biaslearn.engine.runner import EngineRunner
from biaslearn.training.many import train_many
from biaslearn.training.methods import get_method


class PeakRSS:
    """Peak resident set size (bytes) while the block runs, sampled every 5 ms."""

    def __enter__(self):
        self.peak, self._stop = _rss(), False
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop:
            self.peak = max(self.peak, _rss())
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join()
        self.peak = max(self.peak, _rss())


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def machine_rates(threads: int, quick: bool = False) -> dict:
    """Measured fp32 matmul rate (FLOP/s) and read bandwidth (bytes/s), best of 3."""
    torch.set_num_threads(threads)
    n = 1024 if quick else 4096
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(3))
    rate = 2 * n**3 / best
    lib = _read_probe()
    x = torch.ones(2**24 if quick else 2**29)  # 2 GiB, beyond every cache (64 MiB when quick)
    read = lambda: lib.bl_read_sum(ctypes.c_void_p(x.data_ptr()), ctypes.c_int64(x.numel()), ctypes.c_int(threads))
    read()
    bw = x.numel() * 4 / min(_timed(read) for _ in range(3))
    del x
    return {"matmul_flops": rate, "read_bytes_per_s": bw}


@functools.lru_cache(maxsize=1)
def _read_probe():
    """benchmarks/read_bandwidth.c compiled like the engine's native build (kept out of the library)."""
    folder = Path(tempfile.mkdtemp(prefix="biaslearn-read-"))
    target = folder / "read_bandwidth.so"
    compiled.compile_source(Path(__file__).with_name("read_bandwidth.c"), "native", target)
    lib = ctypes.CDLL(str(target))
    lib.bl_read_sum.restype = ctypes.c_double
    return lib


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class ObviousLoop:
    """(A) or (B): the loop a user would write with torch.nn, same weights and batch order; one
    epoch per `epoch(e)` call (seconds returned), so its epochs can be interleaved with others."""

    def __init__(self, net_spec, task, batch_size: int, full: bool):
        ref = bl.FeedForward(net_spec)
        model = nn.Sequential(nn.Linear(784, net_spec.hidden[0]), nn.ReLU(), nn.Linear(net_spec.hidden[0], 10))
        with torch.no_grad():
            model[0].weight.copy_(ref.hidden[0].weight), model[0].bias.copy_(ref.hidden[0].bias)
            model[2].weight.copy_(ref.readout.weight), model[2].bias.copy_(ref.readout.bias)
        if not full:
            model[0].weight.requires_grad_(False)
            model[2].weight.requires_grad_(False)
        self.model, self.task, self.batch_size = model, task, batch_size
        self.optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)

    def epoch(self, epoch: int) -> float:
        x, y, model, optimizer = self.task.train.x, self.task.train.y, self.model, self.optimizer
        order = torch.randperm(len(x), generator=rng.generator(0, f"order/{epoch}"))
        start = time.perf_counter()
        for s in range(0, len(x), self.batch_size):
            index = order[s : s + self.batch_size]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    def accuracy(self) -> float:
        with torch.no_grad():
            return float((self.model(self.task.test.x).argmax(1) == self.task.test.y).float().mean())


def obvious_loop(net_spec, task, epochs: int, batch_size: int, full: bool) -> dict:
    """(A) or (B) alone: per-epoch seconds, peak memory, test accuracy after `epochs`."""
    loop = ObviousLoop(net_spec, task, batch_size, full)
    with PeakRSS() as mem:
        times = [loop.epoch(e) for e in range(epochs)]
    return {"epoch_s": times, "peak_rss": mem.peak, "test_accuracy": loop.accuracy()}


def interleaved(net_spec, task, rounds: int, full_epochs: int, batch_size: int, threads: int, quick: bool) -> dict:
    """Per-epoch seconds of A, B and C taken in rounds (round r: A's epoch r, C's epoch r, the
    machine's rates right after C's epoch, and B's epoch while r < full_epochs), on fresh models,
    so that all three, and C and its bound, are timed under the same machine conditions: on a
    shared virtual machine the speed drifts by up to 2x within minutes, and the variants timed one
    after the other can land in different phases. C reuses the float32 rows cached by engine_run
    (no build here)."""
    a, b = ObviousLoop(net_spec, task, batch_size, False), ObviousLoop(net_spec, task, batch_size, True)
    net = bl.FeedForward(net_spec)
    with configure(cache="float32"):
        runner = EngineRunner(net, task, get_method("bias"))
    config = bl.TrainConfig(epochs=rounds, batch_size=batch_size, lr=1e-3, engine="fast")
    c = bl.train_epochs(net, task, "bias", config, epoch_runner=runner)
    out = {"A": [], "B": [], "C": [], "rates": []}
    for r in range(rounds):
        out["A"].append(a.epoch(r))
        out["C"].append(next(c)["seconds"])
        out["rates"].append(machine_rates(threads, quick))
        if r < full_epochs:
            out["B"].append(b.epoch(r))
    return out


def engine_run(net_spec, task, epochs: int, batch_size: int, cache: str, kernel: str = "auto", keep: bool = False) -> dict:
    """(C): biaslearn.train with the engine; the runner (cache build, or reuse) is timed on its own."""
    net = bl.FeedForward(net_spec)
    with configure(cache=cache, kernel=kernel), PeakRSS() as mem:
        start = time.perf_counter()
        runner = EngineRunner(net, task, get_method("bias"))
        build = time.perf_counter() - start
        history = bl.train(net, task, "bias", bl.TrainConfig(epochs=epochs, batch_size=batch_size, lr=1e-3, engine="fast"), epoch_runner=runner)
    out = {"epoch_s": [h["seconds"] for h in history], "build_s": build, "peak_rss": mem.peak,
           "test_accuracy": history[-1]["test_accuracy"], "storage": runner.plan.storage, "kernel": runner.kernel.name,
           "cache_bytes": sum(runner.rows(s).nbytes for s in (task.train, task.test))}
    del runner
    if not keep:
        clear_cache()
    return out


def many_run(net_spec, task, batch_size: int, count: int, cache: str, rounds: int) -> dict:
    """`count` bias vectors (learning rates) on the same cached rows: one epoch interleaved per batch
    (one compiled call) vs one after another, alternately for `rounds` (>= 1) rounds, medians (one
    epoch each way once gave 0.61x where three alternating rounds then gave 0.83-1.26x:
    docs/benchmarks.md), then what train_many's "auto" chooses by measuring both ways in its first
    epoch (a 2-epoch run; the choice is its second epoch's way)."""
    lrs = [1e-3 * (1.5**i) for i in range(count)]
    run = lambda epochs, interleave: train_many(
        [bl.FeedForward(net_spec) for _ in lrs], task, "bias",
        [bl.TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, engine="fast") for lr in lrs], interleave=interleave)
    with configure(cache=cache):
        run(1, False)  # warm: builds the shared cache once
        times = {"sequential": [], "interleaved": []}
        for _ in range(rounds):
            times["sequential"].append(run(1, False)[0][0]["seconds"] * count)
            times["interleaved"].append(run(1, True)[0][0]["seconds"] * count)
        out = {way: statistics.median(values) for way, values in times.items()}
        out.update({f"{way}_rounds": values for way, values in times.items()})
        auto = run(2, "auto")[0]
        out["auto_way"], out["auto_measured"] = auto[-1]["way"], auto[0]["way"] == "measured"
    clear_cache()
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--widths", default="1024,4096,16384")
    p.add_argument("--epochs", type=int, default=3, help="epochs for A and C (accuracy compared after these)")
    p.add_argument("--epochs-full", type=int, default=1, help="epochs timed for B")
    p.add_argument("--subset", type=int, default=0, help="use only this many training images (0: all 60,000)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--many", type=int, default=4, help="bias vectors in the many-vectors section (0: skip)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds of A, B and C epochs per width (0: skip)")
    p.add_argument("--quick", action="store_true", help="widths 32,64, 1,000 images, 1 epoch")
    p.add_argument("--json", default="", help="also write the results here")
    args = p.parse_args(argv)
    if args.quick:
        args.widths, args.subset, args.epochs, args.many, args.rounds = "32,64", 1000, 1, 2, 1
    widths = [int(w) for w in args.widths.split(",")]
    torch.set_num_threads(args.threads)
    with configure(threads=args.threads):
        return _run(args, widths)


def _run(args, widths):

    task = bl.load_task("fashion-mnist")
    if args.subset:
        task = bl.Task(task.name, task.train.subset(torch.arange(args.subset)), task.test.subset(torch.arange(min(2000, args.subset))), 10)
    started = time.perf_counter()
    print(f"engine_speed: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}, {args.threads} threads")
    print(f"task: {task.name}, {len(task.train)} train / {len(task.test)} test, batch 256, Adam lr 1e-3; "
          f"A and C {args.epochs} epochs, B {args.epochs_full}")
    rates = machine_rates(args.threads, args.quick)
    print(f"machine: fp32 matmul {rates['matmul_flops'] / 1e9:.0f} GFLOP/s, read bandwidth {rates['read_bytes_per_s'] / 1e9:.1f} GB/s")
    results = {"machine": rates, "widths": {}}
    rows = len(task.train)
    for width in widths:
        spec = bl.NetworkSpec(784, (width,), 10, seed=0)
        r = {}
        r["A"] = obvious_loop(spec, task, args.epochs, 256, full=False)
        r["B"] = obvious_loop(spec, task, args.epochs_full, 256, full=True)
        clear_cache()
        r["C_bf16"] = engine_run(spec, task, args.epochs, 256, "bfloat16")
        r["C"] = engine_run(spec, task, args.epochs, 256, "float32", keep=True)
        r["C_torch"] = engine_run(spec, task, args.epochs, 256, "float32", kernel="torch", keep=True)  # reuses C's cache
        if args.rounds:
            r["interleaved"] = interleaved(spec, task, args.rounds, args.epochs_full, 256, args.threads, args.quick)  # reuses C's cache
            # the bound takes the best rates measured in this run (the machine can attain them),
            # those measured after each interleaved C epoch included
            measured = [machine_rates(args.threads, args.quick), *r["interleaved"]["rates"]]
            rates = {key: max([rates[key]] + [m[key] for m in measured]) for key in rates}
            results["machine_best"] = rates
        clear_cache()
        npad = (width + 15) // 16 * 16
        flops = 4.0 * rows * npad * 10
        bound_at = lambda rt, elem: max(flops / rt["matmul_flops"], rows * npad * elem / rt["read_bytes_per_s"])
        bounds = {elem: bound_at(rates, elem) for elem in (4, 2)}
        for key, elem in (("C", 4), ("C_bf16", 2)):
            r[key]["bound_s"] = bounds[elem]
        results["widths"][width] = r
        best = lambda k: min(r[k]["epoch_s"])
        print(f"\n== width {width} ==")
        print(f"  {'variant':<34}{'s/epoch (best)':>15}{'s/epoch (mean)':>15}{'peak RSS':>11}{'test acc':>10}")
        names = {"A": "A obvious loop (biases only)", "B": "B full training", "C": "C engine, float32 cache",
                 "C_bf16": "C engine, bfloat16 cache", "C_torch": "C' cached rows, torch ops"}
        for k, name in names.items():
            e = r[k]["epoch_s"]
            acc = f"{r[k]['test_accuracy']:.4f}" if k != "B" else "-"
            print(f"  {name:<34}{min(e):>15.3f}{sum(e) / len(e):>15.3f}{r[k]['peak_rss'] / 2**30:>9.2f}G{acc:>10}")
        for k in ("C", "C_bf16"):
            print(f"  {k}: cache build {r[k]['build_s']:.2f} s ({r[k]['cache_bytes'] / 2**30:.2f} GiB {r[k]['storage']}, kernel {r[k]['kernel']}); "
                  f"bound {r[k]['bound_s']:.3f} s/epoch, C/bound {best(k) / r[k]['bound_s']:.2f}")
        print(f"  A/C {best('A') / best('C'):.1f}x   B/C {best('B') / best('C'):.1f}x   "
              f"A/C_bf16 {best('A') / best('C_bf16'):.1f}x   B/C_bf16 {best('B') / best('C_bf16'):.1f}x   C'/C {best('C_torch') / best('C'):.1f}x")
        print(f"  accuracy A {r['A']['test_accuracy']:.4f}  C {r['C']['test_accuracy']:.4f}  C_bf16 {r['C_bf16']['test_accuracy']:.4f}")
        if args.rounds:
            t = r["interleaved"]
            line = lambda k: f"{k} {min(t[k]):.3f} ({sum(t[k]) / len(t[k]):.3f})"
            print(f"  interleaved, {args.rounds} rounds (s/epoch best (mean)): {line('A')}  {line('B')}  {line('C')}")
            print(f"  interleaved: A/C {min(t['A']) / min(t['C']):.1f}x   B/C {min(t['B']) / min(t['C']):.1f}x   "
                  f"C/bound {min(t['C']) / bounds[4]:.2f} (bound {bounds[4]:.3f} s from the best rates of the run: "
                  f"{rates['matmul_flops'] / 1e9:.0f} GFLOP/s, {rates['read_bytes_per_s'] / 1e9:.1f} GB/s)")
            paired = [c / bound_at(rt, 4) for c, rt in zip(t["C"], t["rates"])]
            t["paired_ratio"] = paired
            print(f"  paired: C/bound per round {' '.join(f'{v:.2f}' for v in paired)} (best {min(paired):.2f}, median "
                  f"{statistics.median(paired):.2f}; each round's bound from the rates measured right after its C epoch: "
                  + ", ".join(f"{rt['matmul_flops'] / 1e9:.0f} GFLOP/s {rt['read_bytes_per_s'] / 1e9:.1f} GB/s" for rt in t["rates"]) + ")")
    if args.many and widths:
        print(f"\n== many bias vectors: {args.many} learning rates sharing the cache, 1 epoch (train_many), "
              f"medians of {max(1, args.rounds)} alternating rounds ==")
        for width in widths:
            spec = bl.NetworkSpec(784, (width,), 10, seed=0)
            for cache in ("float32", "bfloat16"):
                m = many_run(spec, task, 256, args.many, cache, max(1, args.rounds))
                results.setdefault("many", {}).setdefault(width, {})[cache] = m
                print(f"  width {width:>6} {cache:<9}: one after another {m['sequential']:.3f} s, interleaved per batch "
                      f"{m['interleaved']:.3f} s ({m['sequential'] / m['interleaved']:.2f}x); auto chose {m['auto_way']} "
                      f"({'measured in its first epoch' if m['auto_measured'] else 'size rule: too few batches to measure'})")
    print(f"\nwall time {time.perf_counter() - started:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main()
