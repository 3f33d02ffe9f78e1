"""Many bias vectors at once: networks sharing first-layer weights and inputs, trained together.

`train_many(models, tasks, method, configs)` trains M networks whose first layers are the same
frozen W1 (bitwise) on tasks with the same inputs (labels, readouts, learning rates may differ),
all with the same data order, on one shared row cache. Interleaved, every network takes its step on
each batch in turn (in one compiled call where the engine can), so the batch's rows come from the
CPU cache after the first network; otherwise the networks train one after another, each epoch in
one compiled call. `interleave="auto"` (default) interleaves only where that measured faster: a
batch of cached rows of at most `engine.runner.JOINT_BATCH_BYTES` (benchmarks/engine_speed.py,
section "many bias vectors"; docs/benchmarks.md). Each network's history equals
`train(model, task, method, config)` run alone (no checkpoints here)."""

from __future__ import annotations

import time

import torch

from biaslearn import rng
from biaslearn.engine.cache import tensor_digest
from biaslearn.engine.runner import EngineRunner, can_run_together, joint_pays, run_together, why_not
from biaslearn.errors import BiaslearnError
from biaslearn.training.loop import TrainConfig, loss_fn
from biaslearn.training.methods import get_method


def train_many(models, tasks, method="bias", configs=None, *, interleave: bool | str = "auto") -> list[list[dict]]:
    """Returns one history per model (list of per-epoch dicts as `train` returns; "seconds" is the
    time of the shared pass divided by the number of models)."""
    if interleave not in (True, False, "auto"):
        raise BiaslearnError(f"train_many: interleave must be True, False or 'auto', got {interleave!r}")
    models = list(models)
    tasks = list(tasks) if isinstance(tasks, (list, tuple)) else [tasks] * len(models)
    configs = configs if configs is not None else TrainConfig()
    configs = list(configs) if isinstance(configs, (list, tuple)) else [configs] * len(models)
    method = get_method(method) if isinstance(method, str) else method
    if not models or len(tasks) != len(models) or len(configs) != len(models):
        raise BiaslearnError(f"train_many: expected as many tasks and configs as models ({len(models)}), got {len(tasks)} and {len(configs)}")
    for m, t in zip(models, tasks):
        reason = why_not(m, t, method)
        if reason:
            raise BiaslearnError(f"train_many: the engine does not apply ({reason})")
    first = models[0].hidden[0].weight
    for m, t in zip(models[1:], tasks[1:]):
        if not torch.equal(m.hidden[0].weight, first):
            raise BiaslearnError("train_many: expected every model to share the first-layer weights, got different ones")
        if tensor_digest(t.train.x) != tensor_digest(tasks[0].train.x) or tensor_digest(t.test.x) != tensor_digest(tasks[0].test.x):
            raise BiaslearnError("train_many: expected every task to have the same inputs, got different ones")
    shared = {(c.epochs, c.batch_size, c.seed, c.steepness_final) for c in configs}
    if len(shared) != 1:
        raise BiaslearnError("train_many: expected the same epochs, batch_size, seed and steepness_final in every config")
    epochs, batch_size, seed, steepness = shared.pop()

    losses = [loss_fn(t, c) for t, c in zip(tasks, configs)]
    params = [method.apply(m) for m in models]
    optimizers = [torch.optim.Adam(p, lr=c.lr) for p, c in zip(params, configs)]
    runners = [EngineRunner(m, t, method) for m, t in zip(models, tasks)]
    histories: list[list[dict]] = [[] for _ in models]
    n = len(tasks[0].train)
    for epoch in range(epochs):
        for m in models:
            method.on_epoch_start(m, epoch, epochs, steepness)
        order = torch.randperm(n, generator=rng.generator(seed, f"order/{epoch}"))
        states = [r.epoch(m, p, o, t.train, l) for r, m, p, o, t, l in zip(runners, models, params, optimizers, tasks, losses)]
        start = time.perf_counter()
        batches = range(0, n, batch_size)
        joint = can_run_together(states)
        together = joint and joint_pays(states, batch_size) if interleave == "auto" else interleave
        if together and joint:
            means = run_together(states, order, batch_size)
        elif together:
            totals = [0.0] * len(models)
            for s in batches:
                index = order[s : s + batch_size]
                for i, state in enumerate(states):
                    totals[i] += state.step(index)
            means = [total / max(1, len(batches)) for total in totals]
        else:
            means = [state.run(order, batch_size) for state in states]
        seconds = (time.perf_counter() - start) / len(models)
        for i, (r, m, t, l) in enumerate(zip(runners, models, tasks, losses)):
            train_loss = means[i]
            if not torch.isfinite(torch.tensor(train_loss)):
                raise BiaslearnError(f"training diverged at epoch {epoch} (model {i}, loss {train_loss}); lower lr")
            record = {"epoch": epoch, "train_loss": train_loss, "seconds": seconds}
            record.update({f"test_{k}": v for k, v in r.evaluate(m, t.test, l, configs[i].eval_batch_size).items()})
            histories[i].append(record)
    return histories
