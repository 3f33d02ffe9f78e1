"""A task is a named pair of splits: inputs (samples, features) float32 and targets — class
indices (samples,) int64 for classification, or values (samples, outputs) float32 for regression."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from biaslearn.errors import BiaslearnError, check_finite


@dataclass(frozen=True)
class Split:
    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self):
        if not torch.is_tensor(self.x) or self.x.dim() != 2:
            raise BiaslearnError(f"x: expected a 2-D tensor (samples, features), got {getattr(self.x, 'shape', type(self.x))}")
        if not torch.is_tensor(self.y) or self.y.shape[0] != self.x.shape[0]:
            raise BiaslearnError(
                f"y: expected a tensor with {self.x.shape[0]} rows to match x, got {getattr(self.y, 'shape', type(self.y))}"
            )
        check_finite("x", self.x)
        check_finite("y", self.y)

    def __len__(self) -> int:
        return self.x.shape[0]

    def mean_metrics(self, total_loss: float, correct: int) -> dict[str, float]:
        """Summed loss (and correct count) over this split -> mean loss per target value (and accuracy)."""
        classification = self.y.dtype == torch.int64
        n = max(1, len(self))
        per_sample = 1 if classification else max(1, self.y[0].numel())
        metrics = {"loss": total_loss / (n * per_sample)}
        if classification:
            metrics["accuracy"] = correct / n
        return metrics

    def subset(self, index: torch.Tensor) -> "Split":
        return Split(self.x[index], self.y[index])


@dataclass(frozen=True)
class Task:
    name: str
    train: Split
    test: Split
    n_classes: int  # 0 means regression

    def __post_init__(self):
        if self.train.x.shape[1] != self.test.x.shape[1]:
            raise BiaslearnError(f"task {self.name}: train and test have different feature counts")
        if self.n_classes:
            for label, split in (("train", self.train), ("test", self.test)):
                if split.y.dtype != torch.int64 or split.y.dim() != 1:
                    raise BiaslearnError(f"task {self.name}: {label} labels must be int64 of shape (samples,)")
                if len(split) and (int(split.y.min()) < 0 or int(split.y.max()) >= self.n_classes):
                    raise BiaslearnError(f"task {self.name}: {label} labels outside 0..{self.n_classes - 1}")

    @property
    def in_features(self) -> int:
        return self.train.x.shape[1]

    @property
    def out_features(self) -> int:
        return self.n_classes or self.train.y.shape[1]

    def with_validation(self, fraction: float, *, generator: torch.Generator) -> "Task":
        """Carve `fraction` of the training split off as the evaluation split (for tuning)."""
        if not 0 < fraction < 1:
            raise BiaslearnError(f"validation fraction: expected 0 < f < 1, got {fraction}")
        order = torch.randperm(len(self.train), generator=generator)
        n_val = max(1, int(round(fraction * len(self.train))))
        return Task(
            f"{self.name}/validation", self.train.subset(order[n_val:]), self.train.subset(order[:n_val]), self.n_classes
        )


def from_tensors(name: str, x_train, y_train, x_test, y_test, n_classes: int | None = None) -> Task:
    """Build a task from user tensors, checking shapes and finiteness. n_classes=None infers it
    for integer labels (regression when targets are float)."""
    as_float = [torch.as_tensor(t, dtype=torch.float32) for t in (x_train, x_test)]
    x_train, x_test = [t.reshape(t.shape[0], -1) for t in as_float]
    y_train, y_test = torch.as_tensor(y_train), torch.as_tensor(y_test)
    if n_classes is None:
        n_classes = int(max(y_train.max(), y_test.max())) + 1 if not y_train.is_floating_point() else 0
    if n_classes:
        y_train, y_test = y_train.long(), y_test.long()
    else:
        y_train, y_test = [y.float().reshape(y.shape[0], -1) for y in (y_train, y_test)]
    return Task(name, Split(x_train, y_train), Split(x_test, y_test), n_classes)
