"""Many bias vectors at once: networks sharing first-layer weights and inputs, trained together.

`train_many(models, tasks, method, configs)` trains M networks whose first layers are the same
frozen W1 (bitwise) on tasks with the same inputs (labels, readouts, learning rates may differ),
all with the same data order, on one shared row cache. Interleaved, every network takes its step on
each batch in turn (in one compiled call where the engine can), so the batch's rows come from the
CPU cache after the first network; otherwise the networks train one after another, each epoch in
one compiled call. `interleave="auto"` (default) interleaves only where that is faster, measured
on this machine: the first epoch runs in MEASURE_CHUNKS runs of consecutive batches, alternately
interleaved and one network after another, and the faster per batch takes the other epochs (the
gain depends on the CPU's caches: docs/benchmarks.md, section "many bias vectors"); with a single
epoch or few batches the size rule `engine.runner.joint_pays` decides. Both ways give bitwise the
same training, so the choice changes speed only. Each network's history equals
`train(model, task, method, config)` run alone (no checkpoints here)."""

from __future__ import annotations

import logging
import time

import torch

from biaslearn import rng
from biaslearn.engine.cache import tensor_digest
from biaslearn.engine.runner import EngineRunner, can_run_together, joint_pays, run_together, why_not
from biaslearn.errors import BiaslearnError
from biaslearn.training.loop import TrainConfig, loss_fn
from biaslearn.training.methods import get_method

log = logging.getLogger("biaslearn.engine")
MEASURE_CHUNKS = 4  # runs of consecutive batches in the measured first epoch (alternating ways)
MEASURE_MIN_BATCHES = 8  # fewer batches per epoch: the size rule decides, no measurement


def measured_epoch(states, order: torch.Tensor, batch_size: int) -> tuple[list[float], bool]:
    """One epoch of the networks' states in MEASURE_CHUNKS runs of consecutive batches, alternately
    interleaved (one compiled call for all networks) and one network after another. Returns each
    network's mean loss over the epoch's batches and whether interleaving was faster per batch."""
    batches = (len(order) + batch_size - 1) // batch_size
    bounds = [round(c * batches / MEASURE_CHUNKS) for c in range(MEASURE_CHUNKS + 1)]
    sums, seconds, counts = [0.0] * len(states), {True: 0.0, False: 0.0}, {True: 0, False: 0}
    for c in range(MEASURE_CHUNKS):
        count = bounds[c + 1] - bounds[c]
        if count == 0:
            continue
        part, together = order[bounds[c] * batch_size : bounds[c + 1] * batch_size], c % 2 == 0
        start = time.perf_counter()
        means = run_together(states, part, batch_size) if together else [s.run(part, batch_size) for s in states]
        seconds[together] += time.perf_counter() - start
        counts[together] += count
        sums = [total + m * count for total, m in zip(sums, means)]
    per = {way: seconds[way] / max(1, counts[way]) for way in (True, False)}
    faster = per[True] < per[False]
    log.info("train_many: %d networks, interleaved %.4f s vs one after another %.4f s per batch: %s",
             len(states), per[True], per[False], "interleaving" if faster else "one after another")
    return [total / batches for total in sums], faster


def train_many(models, tasks, method="bias", configs=None, *, interleave: bool | str = "auto") -> list[list[dict]]:
    """Returns one history per model (list of per-epoch dicts as `train` returns; "seconds" is the
    time of the shared pass divided by the number of models; "way" says how the epoch ran:
    "interleaved", "one after another" or "measured" (both, to choose))."""
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
    measured = None  # interleave="auto": which way the measured first epoch found faster
    for epoch in range(epochs):
        for m in models:
            method.on_epoch_start(m, epoch, epochs, steepness)
        order = torch.randperm(n, generator=rng.generator(seed, f"order/{epoch}"))
        states = [r.epoch(m, p, o, t.train, l) for r, m, p, o, t, l in zip(runners, models, params, optimizers, tasks, losses)]
        start = time.perf_counter()
        batches = range(0, n, batch_size)
        joint = can_run_together(states)
        measure = (interleave == "auto" and joint and measured is None and len(models) > 1 and epochs > 1
                   and len(batches) >= MEASURE_MIN_BATCHES)
        if interleave != "auto":
            together = interleave
        else:
            together = measured if measured is not None else joint and joint_pays(states, batch_size)
        if measure:
            means, measured = measured_epoch(states, order, batch_size)
        elif together and joint:
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
            way = "measured" if measure else "interleaved" if together else "one after another"
            record = {"epoch": epoch, "train_loss": train_loss, "seconds": seconds, "way": way}
            record.update({f"test_{k}": v for k, v in r.evaluate(m, t.test, l, configs[i].eval_batch_size).items()})
            histories[i].append(record)
    return histories
