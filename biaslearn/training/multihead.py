"""Joint full training of a MultiHead network on several classification tasks: each Adam step
sums the cross-entropy of one batch from every task (each task cycles through its own data order,
stream "order/<task index>/<pass>"); an epoch is as many steps as the largest task needs."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from biaslearn import rng
from biaslearn.data.task import Task


def _batches(n: int, batch_size: int, seed: int, t: int):
    p = 0
    while True:
        order = torch.randperm(n, generator=rng.generator(seed, f"order/{t}/{p}"))
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]
        p += 1


def train_multihead(model, tasks: list[Task], *, epochs: int, lr: float, batch_size: int, seed: int) -> list[dict]:
    """Train every parameter; returns per-epoch test accuracy per task."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    streams = [_batches(len(t.train), batch_size, seed, i) for i, t in enumerate(tasks)]
    steps = max(math.ceil(len(t.train) / batch_size) for t in tasks)
    history = []
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            loss = sum(F.cross_entropy(model(t.train.x[i], head), t.train.y[i])
                       for head, (t, i) in enumerate(zip(tasks, (next(s) for s in streams))))
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
        model.eval()
        with torch.no_grad():
            acc = {t.name: float((model(t.test.x, h).argmax(1) == t.test.y).double().mean()) for h, t in enumerate(tasks)}
        history.append({"epoch": epoch, "train_loss": total / steps, **{f"acc/{k}": v for k, v in acc.items()}})
    return history
