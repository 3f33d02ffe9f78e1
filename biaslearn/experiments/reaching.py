"""Centre-out reaching by an RNN controller of a two-joint arm, with biases alone learned
(experiment 7 of PAPER.md; issue 7).

1. Train the same frozen random RNN (RecurrentNet, leaky tanh units) through the differentiable
   arm with each method (bias / full / readout) on 8 targets; record the noise-free endpoint error
   on the training targets vs epoch and the epochs to reach `criterion_cm`.
2. Generalisation: endpoint error at `sweep` angles around the circle (most never trained on)
   and trajectories to the 8 unseen mid-way targets (22.5° + k 45°).
3. Adaptation: from each network in `adapt_from`, switch on a curl field of strength `curl`
   (N s/m) and re-learn biases only (all weights, including a fully trained network's, frozen)
   for `adapt_epochs`; then switch the field off and re-learn biases for `washout_epochs`.
   Straightness is the signed lateral deviation from the centre-target line.

Choices the paper leaves open (all fields): a leaky rate network with α = β = 0.2 (τ = 50 ms at
dt = 10 ms), recurrent gain 1.2, input weights U[-1, 1], readout U[-1/√N, 1/√N] scaled by
`torque_gain` N m; hand-state feedback delayed 50 ms; 50 ms torque activation; one epoch =
one Adam step on 32 trials; the learned initial state r_0 starts at 0 (the arm starts at rest,
so the controller starts near its resting output); per-method learning rates chosen on short probes (docs/results.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from biaslearn.data.arm import ArmSpec, TwoJointArm
from biaslearn.data.reaching import ReachSpec, ring
from biaslearn.config import parse_pairs
from biaslearn.errors import BiaslearnError
from biaslearn.models.recurrent import RecurrentNet, RecurrentSpec
from biaslearn.results import RunFolder
from biaslearn.training.closed_loop import ReachTraining, epochs_to_criterion, evaluate, train_reaching
from biaslearn.training.methods import METHODS

NAME = "reaching"
DESCRIPTION = "centre-out reaching with a two-joint arm: bias vs full vs readout, generalisation, curl-field adaptation"


@dataclass(frozen=True)
class Config:
    seed: int = 0
    units: int = 256
    activation: str = "tanh"
    alpha: float = 0.2  # leak = Euler step: dt / tau
    gain: float = 1.2  # recurrent weights N(0, gain²/units)
    input: str = "uniform:1.0"
    readout: str = "uniform_fan_in:1.0"
    torque_gain: float = 1.0  # N m per readout unit
    methods: tuple[str, ...] = ("bias", "full", "readout")
    epochs: tuple[str, ...] = ("bias=800", "full=200", "readout=300")
    learning_rates: tuple[str, ...] = ("bias=0.03", "full=0.003", "readout=0.01")
    batch_size: int = 32
    eval_every: int = 10
    criterion_cm: float = 1.0
    targets: int = 8
    sweep: int = 72  # generalisation: endpoint error at this many evenly spaced angles
    radius_cm: float = 10.0
    delay_min: int = 10
    delay_max: int = 30
    move_steps: int = 60
    feedback: bool = True
    feedback_delay: int = 5
    input_noise: float = 0.01
    motor_noise: float = 0.01
    integrator: str = "euler"
    activation_ms: float = 50.0
    curl: float = 10.0  # N s/m
    adapt_from: tuple[str, ...] = ("bias", "full")
    adapt_epochs: int = 100
    washout_epochs: int = 60
    adapt_lr: float = 0.01

    def __post_init__(self):
        for m in self.methods:
            if m not in ("bias", "full", "readout", "bias+readout"):
                raise BiaslearnError(f"methods: unknown {m!r}; valid: bias, full, readout, bias+readout")
        for m in self.adapt_from:
            if m not in self.methods:
                raise BiaslearnError(f"adapt_from: {m!r} is not among methods {self.methods}")
        epochs, rates = self.epochs_by_method(), self.lr_by_method()
        for m in self.methods:
            if m not in epochs or m not in rates:
                raise BiaslearnError(f"epochs/learning_rates: no value for method {m!r}")
            ReachTraining(epochs=epochs[m], lr=rates[m], batch_size=self.batch_size, eval_every=self.eval_every)
        ReachTraining(epochs=max(1, self.adapt_epochs), lr=self.adapt_lr)
        if self.adapt_epochs < 0 or self.washout_epochs < 0:
            raise BiaslearnError("adapt_epochs, washout_epochs: expected >= 0")
        RecurrentSpec(self.spec().in_features, self.units, 2, seed=self.seed, activation=self.activation,
                      alpha=self.alpha, beta=self.alpha, recurrent=f"gaussian:{self.gain}", input=self.input,
                      readout=self.readout)
        self.arm_spec()
        if self.sweep < 1 or self.targets < 1:
            raise BiaslearnError(f"targets, sweep: expected positive ints, got {self.targets}, {self.sweep}")

    def epochs_by_method(self) -> dict[str, int]:
        return parse_pairs(self.epochs, "epochs", int)

    def lr_by_method(self) -> dict[str, float]:
        return parse_pairs(self.learning_rates, "learning_rates")

    def spec(self) -> ReachSpec:
        return ReachSpec(radius=self.radius_cm / 100, delay_steps=(self.delay_min, self.delay_max),
                         move_steps=self.move_steps, feedback=self.feedback, feedback_delay=self.feedback_delay,
                         input_noise=self.input_noise, motor_noise=self.motor_noise)

    def arm_spec(self) -> ArmSpec:
        return ArmSpec(integrator=self.integrator, activation_ms=self.activation_ms)


QUICK = {"units": 128, "epochs": ("bias=150", "full=60", "readout=60"), "delay_min": 5, "delay_max": 15,
         "move_steps": 50, "eval_every": 5, "adapt_from": ("bias",), "adapt_epochs": 40, "washout_epochs": 20,
         "sweep": 24, "criterion_cm": 2.5}


def build(config: Config) -> RecurrentNet:
    """The frozen random controller: bitwise the same for every method (seed -> named streams)."""
    return RecurrentNet(RecurrentSpec(config.spec().in_features, config.units, 2, seed=config.seed,
                                      activation=config.activation, alpha=config.alpha, beta=config.alpha,
                                      recurrent=f"gaussian:{config.gain}", input=config.input, readout=config.readout,
                                      initial_init="zeros"))


def _frozen_copy(net: RecurrentNet, method: str) -> dict[str, torch.Tensor]:
    """Copies of every tensor the method does not train (to check they stay bitwise equal)."""
    trained = {id(p) for p in METHODS[method].trainable(net)}
    return {name: p.detach().clone() for name, p in net.named_parameters() if id(p) not in trained}


def _unchanged(net: RecurrentNet, frozen: dict[str, torch.Tensor]) -> bool:
    params = dict(net.named_parameters())
    return all(torch.equal(params[name], value) for name, value in frozen.items())


def _trajectories(net, arm, spec, config, field: float = 0.0) -> dict[str, np.ndarray]:
    trained = evaluate(net, arm, spec, ring(config.targets), torque_gain=config.torque_gain, field=field)
    unseen = evaluate(net, arm, spec, ring(config.targets, 180.0 / config.targets), torque_gain=config.torque_gain, field=field)
    return {"trained_hand": trained["hand"].numpy(), "trained_angles": trained["batch"].angles.numpy(),
            "unseen_hand": unseen["hand"].numpy(), "unseen_angles": unseen["batch"].angles.numpy()}


def train_unit(folder: RunFolder, *, config: Config, method: str) -> dict:
    spec, arm, net = config.spec(), TwoJointArm(config.arm_spec()), build(config)
    training = ReachTraining(epochs=config.epochs_by_method()[method], lr=config.lr_by_method()[method],
                             batch_size=config.batch_size, eval_every=config.eval_every,
                             criterion=config.criterion_cm / 100, torque_gain=config.torque_gain, seed=config.seed)
    frozen = _frozen_copy(net, method)
    bar = folder.progress(training.epochs // training.eval_every + 1, f"reaching {method}")
    history = train_reaching(net, arm, spec, method, training, ring(config.targets), stream="reaching/train",
                             on_eval=lambda row: bar.update(1, err_cm=round(100 * row["error"], 2)))
    folder.write_csv("history.csv", history)
    torch.save(net.state_dict(), folder.file("model.pt"))
    folder.save_arrays("trajectories", _trajectories(net, arm, spec, config))
    sweep = evaluate(net, arm, spec, ring(config.sweep), torque_gain=config.torque_gain)
    folder.save_arrays("sweep", {"angles": ring(config.sweep).numpy(), "error": sweep["error"].numpy()})
    train_set = set(ring(config.targets).tolist())
    unseen = [float(e) for a, e in zip(ring(config.sweep).tolist(), sweep["error"]) if a not in train_set]
    mid = evaluate(net, arm, spec, ring(config.targets, 180.0 / config.targets), torque_gain=config.torque_gain)
    return {
        "method": method, "epochs": training.epochs, "lr": training.lr,
        "trained_parameters": sum(p.numel() for p in METHODS[method].trainable(net)),
        "epochs_to_criterion": epochs_to_criterion(history, training.criterion),
        "untrained_error_cm": 100 * history[0]["error"], "final_error_cm": 100 * history[-1]["error"],
        "best_error_cm": 100 * min(row["error"] for row in history),
        "unseen_midway_error_cm": 100 * float(mid["error"].mean()),
        "unseen_sweep_error_cm": 100 * float(np.mean(unseen)) if unseen else None,
        "frozen_unchanged": _unchanged(net, frozen),
        "seconds": history[-1]["seconds"],
    }


def adapt_unit(folder: RunFolder, *, config: Config, method: str) -> dict:
    """Curl field on, biases re-learned; then washout. Starts from the `method`-trained network."""
    spec, arm, net = config.spec(), TwoJointArm(config.arm_spec()), build(config)
    net.load_state_dict(torch.load(folder.path.parent / f"train-{method}" / "model.pt"))
    frozen = _frozen_copy(net, "bias")
    rows, snapshots = [], {}
    snapshots["baseline"] = _trajectories(net, arm, spec, config)["trained_hand"]
    snapshots["field_first"] = _trajectories(net, arm, spec, config, field=config.curl)["trained_hand"]
    offset = 0
    for phase, field, epochs in (("field", config.curl, config.adapt_epochs), ("washout", 0.0, config.washout_epochs)):
        if epochs == 0:
            continue
        training = ReachTraining(epochs=epochs, lr=config.adapt_lr, batch_size=config.batch_size,
                                 eval_every=config.eval_every, torque_gain=config.torque_gain, field=field,
                                 criterion=config.criterion_cm / 100, seed=config.seed)
        if phase == "washout":
            snapshots["washout_first"] = _trajectories(net, arm, spec, config)["trained_hand"]
        history = train_reaching(net, arm, spec, "bias", training, ring(config.targets), stream=f"reaching/{phase}")
        rows += [{**row, "phase": phase, "epoch": row["epoch"] + offset, "field": field} for row in history]
        offset += epochs
        snapshots[f"{phase}_last"] = _trajectories(net, arm, spec, config, field=field)["trained_hand"]
    folder.write_csv("history.csv", rows)
    folder.save_arrays("trajectories", snapshots)
    field_rows = [r for r in rows if r["phase"] == "field"]
    wash_rows = [r for r in rows if r["phase"] == "washout"]
    cm = lambda r, key="signed_lateral": None if r is None else 100 * r[key]  # noqa: E731
    return {
        "from": method, "curl": config.curl, "frozen_unchanged": _unchanged(net, frozen),
        "field_first_lateral_cm": cm(field_rows[0] if field_rows else None),
        "field_first_error_cm": cm(field_rows[0] if field_rows else None, "error"),
        "field_last_lateral_cm": cm(field_rows[-1] if field_rows else None),
        "field_last_error_cm": cm(field_rows[-1] if field_rows else None, "error"),
        "washout_first_lateral_cm": cm(wash_rows[0] if wash_rows else None),
        "washout_last_lateral_cm": cm(wash_rows[-1] if wash_rows else None),
        "washout_last_error_cm": cm(wash_rows[-1] if wash_rows else None, "error"),
    }


def run(config: Config, folder: RunFolder) -> dict:
    jobs = [(f"train-{m}", train_unit, {"config": config, "method": m}) for m in config.methods]
    trained = {row["method"]: row for row in folder.units(jobs, label="reaching: train")}
    adapted = folder.units([(f"adapt-{m}", adapt_unit, {"config": config, "method": m}) for m in config.adapt_from],
                           label="reaching: adapt")
    summary: dict = {"methods": trained, "adaptation": {row["from"]: row for row in adapted},
                     "criterion_cm": config.criterion_cm}
    e_bias = trained.get("bias", {}).get("epochs_to_criterion")
    e_full = trained.get("full", {}).get("epochs_to_criterion")
    summary["epochs_ratio_bias_over_full"] = e_bias / e_full if e_bias and e_full else None
    folder.write_json("results.json", summary)
    from biaslearn.plots.reaching import plot

    plot(folder.path)
    return summary


def format_summary(summary: dict) -> str:
    lines = [f"{'method':10s} {'params':>8s} {'epochs->' + str(summary['criterion_cm']) + 'cm':>14s} "
             f"{'untrained':>10s} {'final':>8s} {'unseen':>8s}  (endpoint error, cm)"]
    for m, row in summary["methods"].items():
        lines.append(f"{m:10s} {row['trained_parameters']:8d} {str(row['epochs_to_criterion']):>14s} "
                     f"{row['untrained_error_cm']:10.2f} {row['final_error_cm']:8.2f} {row['unseen_sweep_error_cm'] or float('nan'):8.2f}")
    lines.append(f"epochs to criterion, bias / full: {summary['epochs_ratio_bias_over_full']}")

    def cm(value):
        return "n/a" if value is None else f"{value:+.2f}"

    for m, row in summary["adaptation"].items():
        lines.append(f"curl {row['curl']} N s/m, biases re-learned from the {m}-trained net: signed lateral deviation (cm) "
                     f"field on {cm(row['field_first_lateral_cm'])} -> {cm(row['field_last_lateral_cm'])}; "
                     f"field off {cm(row['washout_first_lateral_cm'])} -> {cm(row['washout_last_lateral_cm'])}")
    return "\n".join(lines)


__all__ = ["NAME", "DESCRIPTION", "Config", "QUICK", "run", "build", "format_summary"]
