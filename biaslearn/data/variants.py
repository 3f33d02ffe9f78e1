"""Derived tasks: pixel permutations, rotations, class subsets and training-set limits.

A task name may carry variants after '+': "fashion-mnist+permuted:1" (pixel permutation drawn
from stream "variant/permuted/1"), "mnist-subset+rotated:90" (degrees, bilinear),
"digits28+classes:0-4" (labels re-indexed from 0), "fashion-mnist+train:5000" (a random subset
of the training split), "mnist1d+padded:784" (zero features appended up to that many inputs, so
tasks of different sizes share one network). Variants compose left to right."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from biaslearn import rng
from biaslearn.data.task import Split, Task
from biaslearn.errors import BiaslearnError

VARIANTS = ("permuted:<seed>", "rotated:<degrees>", "classes:<a-b or a,b,c>", "train:<n>", "padded:<n>")


def permuted(task: Task, *, generator: torch.Generator, label: str = "permuted") -> Task:
    perm = torch.randperm(task.in_features, generator=generator)
    return Task(f"{task.name}+{label}", Split(task.train.x[:, perm], task.train.y), Split(task.test.x[:, perm], task.test.y), task.n_classes)


def _rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    side = math.isqrt(x.shape[1])
    if side * side != x.shape[1]:
        raise BiaslearnError(f"rotated: needs square images, got {x.shape[1]} features")
    theta = math.radians(degrees)
    rot = torch.tensor([[math.cos(theta), -math.sin(theta), 0.0], [math.sin(theta), math.cos(theta), 0.0]])
    images = x.reshape(-1, 1, side, side)
    out = []
    for chunk in images.split(8192):
        grid = F.affine_grid(rot.expand(len(chunk), 2, 3), list(chunk.shape), align_corners=False)
        out.append(F.grid_sample(chunk, grid, mode="bilinear", padding_mode="zeros", align_corners=False))
    return torch.cat(out).reshape(x.shape[0], -1)


def rotated(task: Task, degrees: float) -> Task:
    return Task(
        f"{task.name}+rotated:{degrees:g}",
        Split(_rotate(task.train.x, degrees), task.train.y),
        Split(_rotate(task.test.x, degrees), task.test.y),
        task.n_classes,
    )


def class_subset(task: Task, classes: list[int]) -> Task:
    if not classes or len(set(classes)) != len(classes) or min(classes) < 0 or max(classes) >= task.n_classes:
        raise BiaslearnError(f"classes: expected distinct labels in 0..{task.n_classes - 1}, got {classes}")
    lookup = torch.full((task.n_classes,), -1, dtype=torch.int64)
    lookup[torch.tensor(classes)] = torch.arange(len(classes))

    def keep(split: Split) -> Split:
        mask = lookup[split.y] >= 0
        return Split(split.x[mask], lookup[split.y[mask]])

    name = f"{task.name}+classes:{','.join(map(str, classes))}"
    return Task(name, keep(task.train), keep(task.test), len(classes))


def limit_train(task: Task, n: int, *, generator: torch.Generator) -> Task:
    if n < 1:
        raise BiaslearnError(f"train: expected a positive sample count, got {n}")
    if n > len(task.train):
        raise BiaslearnError(f"train:{n}: {task.name} has {len(task.train):,} training samples; ask for at most that "
                             "many, or drop '+train' to use them all")
    if n == len(task.train):
        return task
    index = torch.randperm(len(task.train), generator=generator)[:n]
    return Task(f"{task.name}+train:{n}", task.train.subset(index), task.test, task.n_classes)


def padded(task: Task, n: int) -> Task:
    """Zero features appended to every input up to `n`: the extra inputs carry nothing, so a network
    with `n` inputs sees the task through the weights of its first inputs only."""
    if n < task.in_features:
        raise BiaslearnError(f"padded: {task.name} has {task.in_features} inputs, more than {n}; pad to at least that")

    def pad(split: Split) -> Split:
        return Split(F.pad(split.x, (0, n - task.in_features)), split.y)

    return Task(f"{task.name}+padded:{n}", pad(task.train), pad(task.test), task.n_classes)


def _parse_classes(text: str) -> list[int]:
    try:
        if "-" in text:
            a, b = text.split("-")
            return list(range(int(a), int(b) + 1))
        return [int(c) for c in text.split(",")]
    except ValueError:
        raise BiaslearnError(f"classes: expected a-b or a,b,c, got {text!r}") from None


def apply_variant(task: Task, variant: str) -> Task:
    kind, _, arg = variant.partition(":")
    try:
        if kind == "permuted":
            return permuted(task, generator=rng.generator(int(arg or 0), "variant/permuted"), label=f"permuted:{arg or 0}")
        if kind == "rotated":
            return rotated(task, float(arg))
        if kind == "classes":
            return class_subset(task, _parse_classes(arg))
        if kind == "padded":
            return padded(task, int(arg))
        if kind == "train":
            return limit_train(task, int(arg), generator=rng.generator(0, f"variant/train/{task.name}"))
    except ValueError as exc:
        if isinstance(exc, BiaslearnError):
            raise
        raise BiaslearnError(f"task variant {variant!r}: bad argument ({exc})") from None
    raise BiaslearnError(f"task variant: unknown {kind!r}; valid: {', '.join(VARIANTS)}")
