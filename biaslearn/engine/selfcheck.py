"""The compiled kernel's agreement check against the PyTorch kernel, run in a child process.

`check(kernel)` runs every entry point (step, logits, a whole epoch with Adam, Adam alone) on
shapes chosen to reach every branch of fused.c: odd batches and a single row, widths that are not
a multiple of 16 and several column tiles (TILE = 256 columns), K = 1 ... 64 outputs (the
register-blocked paths take K <= 16, the per-thread loops the rest), 1-3 threads, float32 and
bfloat16 rows, cross entropy and mse. A mismatch raises `SelfCheckMismatch` naming the case.

    python -m biaslearn.engine.selfcheck VARIANT PATH

loads the build at PATH and runs the check; exit status 0: agrees; 1: mismatch (the case on
stderr); killed by a signal: the build crashed. compiled.load runs this in a child before the
build is ever loaded into the user's process (guard.py)."""

from __future__ import annotations

import sys

import torch

from biaslearn.engine import compiled
from biaslearn.engine.torch_kernel import TorchKernel

# (units, outputs, dtype, batch, rows, loss kind); threads 1-3 on each
CASES = (
    (50, 10, torch.float32, 33, 90, 0),    # one partial tile, odd batch
    (600, 10, torch.bfloat16, 20, 64, 0),  # several tiles, the last partial
    (7, 1, torch.float32, 1, 5, 1),        # a single row, one output, width 7
    (300, 16, torch.float32, 7, 40, 0),    # K = KMAX of the blocked paths
    (129, 17, torch.bfloat16, 18, 30, 1),  # K just past the blocked paths
    (40, 64, torch.float32, 5, 12, 0),     # K = KLIMIT
    (513, 3, torch.float32, 64, 70, 1),    # several row groups (16 rows each)
)
RTOL, ATOL = 1e-4, 1e-5


class SelfCheckMismatch(RuntimeError):
    pass


def _close(case: str, got, want, rtol=RTOL, atol=ATOL) -> None:
    got, want = torch.as_tensor(got, dtype=torch.float64), torch.as_tensor(want, dtype=torch.float64)
    if got.shape != want.shape or not torch.allclose(got, want, rtol=rtol, atol=atol):
        worst = float((got - want).abs().max()) if got.shape == want.shape else float("nan")
        raise SelfCheckMismatch(f"{case}: differs from the PyTorch kernel (shapes {tuple(got.shape)} / "
                                f"{tuple(want.shape)}, largest difference {worst:.3g})")


def problem_of(units, k, dtype, batch, count, kind, g):
    """Random cached rows (count, npad), operands b, cs, c, a batch index and labels or targets
    by sample, padded to npad = units rounded up to 16 with zeros, like the engine's."""
    npad = (units + 15) // 16 * 16
    rows = torch.randn(count, npad, generator=g).to(dtype)
    rows[:, units:] = 0
    b, cs, c = torch.randn(npad, generator=g), torch.randn(k, npad, generator=g) / 4, torch.randn(k, generator=g)
    b[units:], cs[:, units:] = 0, 0
    index = torch.randint(0, count, (batch,), generator=g)
    y = torch.randint(0, k, (count,), generator=g) if kind == 0 else torch.randn(count, k, generator=g)
    return npad, rows, b, cs, c, index, y


def check_step_and_logits(kernel, reference, case, problem, kind, threads, want_gb=True, want_g=True, start=None) -> None:
    """One step (loss and the gradients asked for) and the logits of rows [start, end) against
    the reference."""
    npad, rows, b, cs, c, index, y = problem
    got = kernel.step(rows, index, b, cs, c, kind, y[index], want_gb, want_g, threads)
    want = reference.step(rows, index, b, cs, c, kind, y[index], want_gb, want_g)
    for name, a, w in zip(("loss", "bias gradient", "readout gradient", "output-bias gradient"), got, want):
        if w is not None:
            _close(f"{case}, step {name}", a, w)
    start = len(rows) // 3 if start is None else start
    count = len(rows) - start
    _close(f"{case}, logits", kernel.logits(rows, start, count, b, cs, c, threads),
           reference.logits(rows, start, count, b, cs, c), atol=1e-4)


def check_epoch(kernel, case, problem, kind, units, threads, batch=None, lrs=(1e-2, 3e-3)) -> None:
    """bl_epoch of len(lrs) networks on shared rows against batch-by-batch steps and Adam."""
    npad, rows, b, cs, c, _, y = problem
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(1))
    batch = max(1, len(rows) // 3) if batch is None else batch

    def fresh():
        nets = []
        for lr in lrs:
            b1 = (b[:units].clone(), torch.zeros(units), torch.zeros(units), torch.zeros(()), (lr, 0.9, 0.99, 1e-8, 1e-4))
            cc = (c.clone(), torch.zeros(len(c)), torch.zeros(len(c)), torch.zeros(()), (lr, 0.9, 0.99, 1e-8, 0.0))
            nets.append({"b": b.clone(), "cs": cs, "c": c.clone(), "y": y, "b1_adam": b1, "c_adam": cc})
        return nets

    expected = []
    for net in fresh():
        losses = []
        for s in range(0, len(order), batch):
            index = order[s : s + batch]
            loss, gb, _, gc = kernel.step(rows, index, net["b"], cs, net["c"], kind, y[index], True, False, threads)
            p, m, v, t, h = net["b1_adam"]
            kernel.adam(p, gb[:units], m, v, t, *h, mirror=net["b"])
            p, m, v, t, h = net["c_adam"]
            kernel.adam(p, gc, m, v, t, *h, mirror=net["c"])
            losses.append(loss)
        expected.append((losses, net))
    nets = fresh()
    got = kernel.epoch(rows, order, batch, nets, kind, threads)
    for (losses, gb, gc), (want_losses, want), net in zip(got, expected, nets):
        _close(f"{case}, epoch losses", losses, want_losses)
        _close(f"{case}, epoch biases", net["b"], want["b"])
        _close(f"{case}, epoch output biases", net["c"], want["c"])


def check_adam(kernel) -> None:
    g = torch.Generator().manual_seed(5)
    want = torch.randn(37, generator=g)
    got, mirror = want.clone(), torch.zeros(37)
    optimizer = torch.optim.Adam([want], lr=3e-3, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.1)
    exp_avg, exp_avg_sq, step = torch.zeros(37), torch.zeros(37), torch.tensor(0.0)
    for i in range(5):
        grad = torch.randn(37, generator=g)
        want.grad = grad.clone()
        optimizer.step()
        kernel.adam(got, grad, exp_avg, exp_avg_sq, step, 3e-3, 0.8, 0.99, 1e-7, 0.1, mirror)
    _close("adam", got, want.detach(), rtol=1e-6, atol=1e-6)
    _close("adam mirror", mirror, got, rtol=0, atol=0)


def check(kernel) -> None:
    """Run every case on `kernel` (a CompiledKernel); raise SelfCheckMismatch on the first mismatch."""
    reference = TorchKernel()
    saved, compiled.MIN_WORK = compiled.MIN_WORK, 1  # let these small problems really run on 2-3 threads
    try:
        for n, (units, k, dtype, batch, count, kind) in enumerate(CASES):
            g = torch.Generator().manual_seed(n)
            problem = problem_of(units, k, dtype, batch, count, kind, g)
            for threads in (1, 2, 3):
                case = f"{units} units, {k} outputs, {str(dtype)[6:]}, batch {batch}, {threads} thread(s)"
                check_step_and_logits(kernel, reference, case, problem, kind, threads)
                if threads != 2:
                    check_epoch(kernel, case, problem, kind, units, threads)
        check_adam(kernel)
    finally:
        compiled.MIN_WORK = saved


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m biaslearn.engine.selfcheck VARIANT PATH", file=sys.stderr)
        return 2
    torch.set_num_threads(1)  # the reference's own threads are not under test
    try:
        check(compiled.CompiledKernel(args[0], args[1]))
    except SelfCheckMismatch as err:
        print(f"mismatch: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
