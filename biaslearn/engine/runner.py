"""The engine's epoch runner for one-hidden-layer ReLU feed-forward nets with frozen W1.

`select_runner(model, task, method, config)` returns an `EngineRunner` (same contract as
`biaslearn.training.loop.plain_epoch`: same batches in the same order, the caller's Adam optimizer
stepped once per batch after each trained parameter's `.grad` is set) or None when the engine does
not apply. Methods and what the kernel computes for them (P = X W1^T cached, g = gate values):

| method       | rows cached        | gradients                                   |
|--------------|--------------------|---------------------------------------------|
| bias         | P                  | dL/db1, dL/dc                               |
| bias+readout | P                  | dL/db1, dL/dc, dL/dC = g * G                |
| readout      | H = relu(P + b1)   | dL/dc, dL/dC = g * G                        |
| mask         | P                  | dL/ds = sum_k C_k G_k * steep * g (1 - g)   |

with G = sum_r dL/dout_r (x) relu(z_r) and readout C replaced by Cs = C * g inside the kernel.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F

from biaslearn.engine import planner, settings
from biaslearn.engine.cache import get_rows
from biaslearn.engine.kernels import choose_kernel
from biaslearn.engine.torch_kernel import CROSS_ENTROPY, MSE

log = logging.getLogger("biaslearn.engine")

METHODS = ("bias", "bias+readout", "readout", "mask")
MAX_OUTPUTS = 64


def why_not(model, task, method) -> str | None:
    """None if the engine applies, else the reason it does not."""
    from biaslearn.models.feedforward import FeedForward

    if not isinstance(model, FeedForward):
        return f"model is {type(model).__name__}, the engine handles FeedForward"
    spec = model.spec
    if len(spec.hidden) != 1:
        return f"{len(spec.hidden)} hidden layers (the engine handles one)"
    if spec.activation != "relu":
        return f"activation {spec.activation} (the engine handles relu)"
    if spec.residual:
        return "residual network"
    if method.name not in METHODS:
        return f"method {method.name} trains the first-layer weights"
    if method.name == "mask" and not model.gates:
        return "mask method without gates"
    if task.out_features > MAX_OUTPUTS:
        return f"{task.out_features} outputs (the engine handles up to {MAX_OUTPUTS})"
    if model.hidden[0].weight.device.type != "cpu":
        return "model is not on the CPU"
    return None


def select_runner(model, task, method, config):
    reason = why_not(model, task, method)
    if reason is not None:
        log.info("engine not used: %s", reason)
        return None
    return EngineRunner(model, task, method)


class EngineRunner:
    """Callable epoch runner with an `evaluate` that uses the cached test rows too."""

    def __init__(self, model, task, method, budget: int | None = None):
        s = settings.current()
        self.method = method
        self.layer, self.readout = model.hidden[0], model.readout
        self.gate = model.gates[0] if model.gates else None
        self.activity = method.name == "readout"  # b1 frozen: cache relu(P + b1)
        self.units = self.layer.weight.shape[0]
        self.npad = planner.padded(self.units)
        self.threads = s.threads
        self.plan = planner.plan_cache(len(task.train) + len(task.test), self.units, budget=budget)
        self.kernel = choose_kernel(s.kernel)
        self._splits = {}
        for split in (task.train, task.test):
            self.rows(split)
        log.info("engine runner: method %s, %d units, storage %s, kernel %s", method.name, self.units, self.plan.storage, self.kernel.name)

    def rows(self, split):
        key = id(split.x)
        if key not in self._splits:
            bias = self.layer.bias if self.activity else None
            self._splits[key] = (split.x, get_rows(split.x, self.layer.weight, bias, self.plan.storage, self.plan.budget))
        return self._splits[key][1]

    def _pad(self, v: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(*v.shape[:-1], self.npad)
        out[..., : self.units] = v.detach()
        return out

    def _gate_values(self) -> torch.Tensor | None:
        return None if self.gate is None else self.gate.gate().detach()

    def _operands(self):
        g = self._gate_values()
        c_weight = self.readout.weight.detach()
        cs = self._pad(c_weight if g is None else c_weight * g)
        b = torch.zeros(self.npad) if self.activity else self._pad(self.layer.bias)
        return b, cs, self.readout.bias.detach().clone(), g

    def __call__(self, model, params, optimizer, split, order, loss, batch_size) -> float:
        kind = _loss_kind(loss)
        rows = self.rows(split)
        model.train()
        trained = {id(p) for p in params}
        want_b1 = id(self.layer.bias) in trained
        want_c = id(self.readout.bias) in trained
        want_cw = id(self.readout.weight) in trained
        want_gate = self.gate is not None and id(self.gate.scores) in trained
        known = {id(self.layer.bias), id(self.readout.bias), id(self.readout.weight)} | (
            {id(self.gate.scores)} if self.gate is not None else set())
        if trained - known:
            raise RuntimeError("engine runner: a trained parameter is not one the engine computes gradients for")
        total, batches = 0.0, 0
        b, cs, c, g = self._operands()
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            matrix, row_index = rows.batch(index)
            value, gb, gw, gc = self.kernel.step(
                matrix, row_index, b, cs, c, kind, split.y[index], want_b1, want_cw or want_gate, self.threads)
            if want_b1:
                self.layer.bias.grad = gb[: self.units].clone()
            if want_c:
                self.readout.bias.grad = gc
            if want_cw:
                gw = gw[:, : self.units]
                self.readout.weight.grad = gw * g if g is not None else gw.clone()
            if want_gate:
                dg = (self.readout.weight.detach() * gw[:, : self.units]).sum(0)
                steep = self.gate.steepness
                self.gate.scores.grad = dg * steep * g * (1 - g)
            optimizer.step()
            b, cs, c, g = self._refresh(b, cs, c, g, want_b1, want_c, want_cw or want_gate)
            total += value
            batches += 1
        return total / max(1, batches)

    def _refresh(self, b, cs, c, g, want_b1, want_c, want_readout):
        if want_b1:
            b[: self.units] = self.layer.bias.detach()
        if want_c:
            c = self.readout.bias.detach().clone()
        if want_readout:
            g = self._gate_values()
            w = self.readout.weight.detach()
            cs[:, : self.units] = w if g is None else w * g
        return b, cs, c, g

    def evaluate(self, model, split, loss, batch_size: int = 4096) -> dict[str, float]:
        """Same numbers as biaslearn.training.loop.evaluate (eval mode: hard gates)."""
        was_training = model.training
        model.eval()
        rows = self.rows(split)
        b, cs, c, _ = self._operands()
        total_loss, correct = 0.0, 0
        with torch.no_grad():
            for start in range(0, len(split), batch_size):
                stop = min(len(split), start + batch_size)
                matrix, first = rows.block(start, stop)
                out = self.kernel.logits(matrix, first, stop - start, b, cs, c, self.threads)
                y = split.y[start:stop]
                total_loss += float(loss(out, y, reduction="sum"))
                if split.y.dtype == torch.int64:
                    correct += int((out.argmax(1) == y).sum())
        model.train(was_training)
        classification = split.y.dtype == torch.int64
        n = max(1, len(split))
        per_sample = 1 if classification else max(1, split.y[0].numel())
        metrics = {"loss": total_loss / (n * per_sample)}
        if classification:
            metrics["accuracy"] = correct / n
        return metrics


def _loss_kind(loss) -> int:
    if loss is F.cross_entropy:
        return CROSS_ENTROPY
    if loss is F.mse_loss:
        return MSE
    raise RuntimeError(f"engine runner: unsupported loss {loss!r}")
