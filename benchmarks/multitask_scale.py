"""Paper-scale multi-task check: one random network with 32,000 hidden units, 7 image tasks, one
bias vector per task, 20 epochs each, through biaslearn.train with the engine.

    flock /tmp/biaslearn-cpu.lock env PYTHONPATH=. python benchmarks/multitask_scale.py [--epochs 20]

Prints per task: rows, the cache plan, cache build and training time, test accuracy, and the
process's peak resident memory (it must stay under 24 GiB)."""

from __future__ import annotations

import argparse
import logging
import resource
import time

import torch

import biaslearn as bl
from biaslearn.engine import clear_cache

TASKS = ("fashion-mnist", "mnist-subset", "digits28", "fashion-mnist+permuted:1", "fashion-mnist+rotated:90",
         "mnist-subset+permuted:1", "mnist-subset+rotated:90")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--units", type=int, default=32000)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="  [%(name)s] %(message)s")
    started = time.perf_counter()
    print(f"multitask_scale: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {args.units} units, {args.epochs} epochs, lr {args.lr}")
    spec = bl.NetworkSpec(784, (args.units,), 10, seed=0)
    rows = []
    for name in args.tasks.split(","):
        t0 = time.perf_counter()
        task = bl.load_task(name)
        net = bl.FeedForward(spec)  # the same frozen weights for every task; fresh biases
        history = bl.train(net, task, "bias", bl.TrainConfig(epochs=args.epochs, lr=args.lr, engine="fast"))
        wall = time.perf_counter() - t0
        train_s = sum(h["seconds"] for h in history)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        rows.append((name, len(task.train), wall, train_s, history[-1]["test_accuracy"], peak))
        print(f"{name:<28} {len(task.train):>6} rows  wall {wall:7.1f} s  training {train_s:6.1f} s "
              f"({train_s / args.epochs:.3f} s/epoch)  test acc {history[-1]['test_accuracy']:.4f}  peak RSS {peak:.2f} GiB", flush=True)
    clear_cache()
    total = time.perf_counter() - started
    print(f"total wall time {total:.0f} s; peak RSS {max(r[5] for r in rows):.2f} GiB")


if __name__ == "__main__":
    main()
