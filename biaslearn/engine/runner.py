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


_announced: set = set()  # engine choices and reasons already logged


def _announce(kernel: str, storage: str, threads: int) -> None:
    """The engine's choices at INFO, once per process for each distinct combination."""
    if (kernel, storage, threads) not in _announced:
        _announced.add((kernel, storage, threads))
        log.info("engine: kernel %s, cached rows %s, up to %d threads", kernel, storage, threads)


def select_runner(model, task, method, config):
    reason = why_not(model, task, method)
    if reason is not None:
        if reason not in _announced:  # once per process for each reason
            _announced.add(reason)
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
        _announce(self.kernel.name, self.plan.storage, self.threads or torch.get_num_threads())

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
        return self.epoch(model, params, optimizer, split, loss).run(order, batch_size)

    def epoch(self, model, params, optimizer, split, loss) -> "_Epoch":
        """State for one epoch; `.step(index)` trains on one batch and returns its loss."""
        model.train()
        return _Epoch(self, params, optimizer, split, _loss_kind(loss))

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
        return split.mean_metrics(total_loss, correct)


class _Epoch:
    """One epoch of one runner: operands padded once, refreshed after each optimizer step."""

    def __init__(self, runner: EngineRunner, params, optimizer, split, kind: int):
        self.r, self.optimizer, self.split, self.kind = runner, optimizer, split, kind
        self.rows = runner.rows(split)
        r = runner
        trained = {id(p) for p in params}
        known = {id(r.layer.bias), id(r.readout.bias), id(r.readout.weight)} | ({id(r.gate.scores)} if r.gate is not None else set())
        if trained - known:
            raise RuntimeError("engine runner: a trained parameter is not one the engine computes gradients for")
        self.want_b1 = id(r.layer.bias) in trained
        self.want_c = id(r.readout.bias) in trained
        self.want_cw = id(r.readout.weight) in trained
        self.want_gate = r.gate is not None and id(r.gate.scores) in trained
        self.b, self.cs, self.c, self.g = r._operands()
        self.adam = _c_adam_groups(optimizer, r.kernel, params) if not (self.want_cw or self.want_gate) else None

    def _adam_spec(self, p) -> tuple:
        """(param, exp_avg, exp_avg_sq, step, (lr, beta1, beta2, eps, weight_decay)) of the caller's
        Adam for p, its state created as torch.optim.Adam initialises it."""
        group, state = self.adam[id(p)], self.optimizer.state[p]
        if not state:
            state["step"] = torch.tensor(0.0, dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        beta1, beta2 = group["betas"]
        hyper = (float(group["lr"]), float(beta1), float(beta2), float(group["eps"]), float(group["weight_decay"]))
        return p.detach(), state["exp_avg"], state["exp_avg_sq"], state["step"], hyper

    def _c_adam_step(self, gb, gc) -> None:
        """The caller's Adam step done by the compiled kernel on b1 and c (same update, same
        optimizer state tensors), writing the new values into the kernel's operands as well."""
        r, units = self.r, self.r.units
        todo = []
        if self.want_b1:
            todo.append((r.layer.bias, gb[:units], self.b[:units]))
        if self.want_c:
            todo.append((r.readout.bias, gc, self.c))
        for p, grad, mirror in todo:
            p.grad = grad
            param, exp_avg, exp_avg_sq, step, hyper = self._adam_spec(p)
            r.kernel.adam(param, grad, exp_avg, exp_avg_sq, step, *hyper, mirror)

    def whole_epoch(self) -> bool:
        """Whether one compiled call can run this epoch (cached rows, compiled Adam)."""
        return self.adam is not None and hasattr(self.r.kernel, "epoch") and self.rows.data is not None

    def run(self, order: torch.Tensor, batch_size: int) -> float:
        """All batches of `order`; returns the mean loss over batches. One compiled call for the
        whole epoch where possible, else batch by batch: same batches, same updates, same result."""
        if not self.whole_epoch():
            values = [self.step(order[s : s + batch_size]) for s in range(0, len(order), batch_size)]
            return sum(values) / max(1, len(values))
        return run_together([self], order, batch_size)[0]

    def step(self, index: torch.Tensor) -> float:
        r, units = self.r, self.r.units
        matrix, row_index = self.rows.batch(index)
        value, gb, gw, gc = r.kernel.step(matrix, row_index, self.b, self.cs, self.c, self.kind, self.split.y[index],
                                          self.want_b1, self.want_cw or self.want_gate, r.threads)
        if self.adam is not None:
            self._c_adam_step(gb, gc)
            return value
        if self.want_b1:
            r.layer.bias.grad = gb[:units]  # a fresh tensor per step: no copy needed
        if self.want_c:
            r.readout.bias.grad = gc
        if self.want_cw:
            r.readout.weight.grad = gw[:, :units] * self.g if self.g is not None else gw[:, :units].clone()
        if self.want_gate:
            dg = (r.readout.weight.detach() * gw[:, :units]).sum(0)
            r.gate.scores.grad = dg * r.gate.steepness * self.g * (1 - self.g)
        self.optimizer.step()
        if self.want_b1:
            self.b[:units] = r.layer.bias.detach()
        if self.want_c:
            self.c = r.readout.bias.detach().clone()
        if self.want_cw or self.want_gate:
            self.g = r._gate_values()
            w = r.readout.weight.detach()
            self.cs[:, :units] = w if self.g is None else w * self.g
        return value

    def _kernel_net(self) -> dict:
        r = self.r
        return {"b": self.b, "cs": self.cs, "c": self.c, "y": self.split.y,
                "b1_adam": self._adam_spec(r.layer.bias) if self.want_b1 else None,
                "c_adam": self._adam_spec(r.readout.bias) if self.want_c else None}

    def _set_grads(self, gb, gc) -> None:
        if self.want_b1:
            self.r.layer.bias.grad = gb[: self.r.units]
        if self.want_c:
            self.r.readout.bias.grad = gc


def can_run_together(states) -> bool:
    """Whether `run_together` takes these epochs in one compiled call: each can run whole, and
    they share the cached rows, loss kind and output count."""
    first = states[0]
    return all(s.whole_epoch() and s.rows is first.rows and s.kind == first.kind and s.cs.shape == first.cs.shape
               and s.r.kernel is first.r.kernel for s in states)


# Largest batch of cached rows (bytes) for which stepping several networks per batch beat running
# them one after another (4 networks, 2 threads, float32 rows, batch 256; docs/benchmarks.md):
# 1.4x at 1,024 units (1 MiB per batch), 1.1-1.7x at 4,096 (4 MiB), even at 8,192 (8 MiB),
# 0.87-0.99x at 16,384 (16 MiB).
JOINT_BATCH_BYTES = 4 * 2**20


def joint_batch_fits(batch_size: int, row_bytes: int) -> bool:
    """Whether a batch of cached rows is small enough for stepping networks together to pay."""
    return batch_size * row_bytes <= JOINT_BATCH_BYTES


def joint_pays(states, batch_size: int) -> bool:
    """Whether running these epochs together is expected to be faster than one after another."""
    rows = states[0].rows.data
    return len(states) > 1 and joint_batch_fits(batch_size, rows.shape[1] * rows.element_size())


def run_together(states, order: torch.Tensor, batch_size: int) -> list[float]:
    """Epochs of several networks on shared rows in one compiled call, batch by batch with every
    network stepping on each batch in turn (the rows are read from memory once per batch).
    Returns each network's mean loss over batches; `can_run_together(states)` must hold."""
    first = states[0]
    results = first.r.kernel.epoch(first.rows.data, order, batch_size, [s._kernel_net() for s in states], first.kind,
                                   first.r.threads)
    means = []
    for state, (losses, gb, gc) in zip(states, results):
        state._set_grads(gb, gc)
        means.append(sum(losses) / max(1, len(losses)))
    return means


def _c_adam_groups(optimizer, kernel, params) -> dict | None:
    """{id(param): its param group} when the compiled kernel can take the optimizer's step itself:
    a plain torch.optim.Adam (no amsgrad, maximize, capturable, differentiable, fused, decoupled
    weight decay, tensor lr/betas, step hooks) on contiguous float32 CPU tensors; else None."""
    if type(optimizer) is not torch.optim.Adam or not hasattr(kernel, "adam"):
        return None
    if optimizer._optimizer_step_pre_hooks or optimizer._optimizer_step_post_hooks:
        return None
    from torch.optim import optimizer as optim_module

    if getattr(optim_module, "_global_optimizer_pre_hooks", None) or getattr(optim_module, "_global_optimizer_post_hooks", None):
        return None
    groups = {}
    for group in optimizer.param_groups:
        if any(group.get(flag) for flag in ("amsgrad", "maximize", "capturable", "differentiable", "fused", "decoupled_weight_decay")):
            return None
        if isinstance(group["lr"], torch.Tensor) or any(isinstance(b, torch.Tensor) for b in group["betas"]):
            return None
        for p in group["params"]:
            groups[id(p)] = group
    for p in params:
        if id(p) not in groups or p.dtype != torch.float32 or not p.is_contiguous() or p.device.type != "cpu":
            return None
        state = optimizer.state.get(p)
        if state and (state["step"].dtype != torch.float32 or state["step"].numel() != 1
                      or any(not state[k].is_contiguous() or state[k].dtype != torch.float32 for k in ("exp_avg", "exp_avg_sq"))):
            return None
    return groups


def _loss_kind(loss) -> int:
    if loss is F.cross_entropy:
        return CROSS_ENTROPY
    if loss is F.mse_loss:
        return MSE
    raise RuntimeError(f"engine runner: unsupported loss {loss!r}")
