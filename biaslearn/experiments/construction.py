"""The proof of Theorem 1 run as an algorithm (see `biaslearn.theory.construction`): how wide must
a random network N2 (W, C ~ U[-R, R]) be for unit selection + bias setting to approximate a small
target net N1 (parameters ~ U[-gamma, gamma], one hidden ReLU layer) within eps in sup norm, with
probability >= 1 - delta over N2's draw?

Three parts:
1. Nested widths: for each seed one N2 of the largest width is drawn; the width-N network is its
   first N units (a valid draw of width N), so per seed the error is followed along growing
   widths and the width needed for eps is the width from which on the error stays <= eps.
   Reported against eps, the target size and the proof's bound (`biaslearn.theory.scaling`).
2. The sampling range R: the same uniform draws scaled by R (common random numbers, so R is
   compared on paired networks); error and success probability at a fixed width, and the
   width needed, vs R.
3. Gradient bias learning (Adam, as in the approximation experiment) vs the construction on
   bitwise the same FeedForward networks, over widths and over R.
The target N1 is fixed (seed `target_seed`); the probability is over N2 only, as in the theorem.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from biaslearn import rng
from biaslearn.errors import BiaslearnError
from biaslearn.experiments.approximation import fit, random_network
from biaslearn.theory.construction import SCHEMES, ConstructionConfig, construct, construct_from_weights
from biaslearn.theory.scaling import bound_width, fit_power_law, success_probability, width_needed
from biaslearn.theory.targets import function_errors, grid, target_network

NAME = "construction"
DESCRIPTION = "the proof's construction as an algorithm: width needed vs eps, target size and R; vs bias learning"


@dataclass(frozen=True)
class Config:
    dims: tuple[int, ...] = (1, 2)
    target_units: tuple[int, ...] = (1, 2, 4, 8)
    gamma: float = 1.0  # target parameters ~ U[-gamma, gamma]
    R: float = 2.0  # random network weights ~ U[-R, R]
    schemes: tuple[str, ...] = ("single", "subset")
    candidates: int = 32  # subset scheme pool size
    group: int = 3  # subset scheme: at most this many N2 units per target unit
    widths: tuple[int, ...] = (16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576)
    seeds: int = 20
    epsilons: tuple[float, ...] = (0.2, 0.1, 0.05, 0.02, 0.01)
    delta: float = 0.1
    grid_1d: int = 2001
    grid_2d: int = 101
    target_seed: int = 0
    # part 2 (R) and part 3 (gradient) use one target: sweep_dim, sweep_units
    sweep_dim: int = 1
    sweep_units: int = 4
    sweep_Rs: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 8.0)
    sweep_width: int = 1024
    sweep_eps: float = 0.05
    gradient_widths: tuple[int, ...] = (16, 64, 256, 1024, 4096)
    gradient_seeds: int = 3
    gradient_lr: float = 0.03
    gradient_epochs: int = 1000
    train_points: int = 1024

    def __post_init__(self):
        for s in self.schemes:
            if s not in SCHEMES:
                raise BiaslearnError(f"schemes: unknown {s!r}; valid: {', '.join(SCHEMES)}")
        ConstructionConfig(scheme="subset", candidates=self.candidates, group=self.group)
        for d in (*self.dims, self.sweep_dim):
            if d not in (1, 2):
                raise BiaslearnError(f"dims: expected values in (1, 2), got {d!r}")
        for name in ("widths", "target_units", "gradient_widths"):
            v = getattr(self, name)
            if not v or any(not isinstance(w, int) or w < 1 for w in v):
                raise BiaslearnError(f"{name}: expected positive ints, got {v!r}")
        if list(self.widths) != sorted(set(self.widths)):
            raise BiaslearnError(f"widths: expected strictly increasing values, got {self.widths!r}")
        if self.sweep_width not in self.widths:
            raise BiaslearnError(f"sweep_width: expected one of widths {self.widths}, got {self.sweep_width!r}")
        if not 0 < self.delta < 1:
            raise BiaslearnError(f"delta: expected 0 < delta < 1, got {self.delta!r}")
        for name in ("gamma", "R", "sweep_eps", "gradient_lr"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0):
                raise BiaslearnError(f"{name}: expected a positive number, got {v!r}")
        if any(not e > 0 for e in self.epsilons) or any(not r > 0 for r in self.sweep_Rs):
            raise BiaslearnError("epsilons and sweep_Rs: expected positive numbers")
        for name in ("seeds", "gradient_seeds", "gradient_epochs", "train_points", "sweep_units", "grid_1d", "grid_2d"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise BiaslearnError(f"{name}: expected a positive int, got {v!r}")


QUICK = {"dims": (1,), "target_units": (2, 4), "widths": (16, 256, 4096, 65536), "seeds": 6, "epsilons": (0.1, 0.05),
         "grid_1d": 1001, "sweep_Rs": (0.5, 1.0, 2.0, 4.0), "sweep_width": 4096, "gradient_widths": (16, 256),
         "gradient_seeds": 1, "gradient_epochs": 300, "train_points": 512}


def _config(d: dict) -> Config:
    return Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def _eval_grid(c: Config, dim: int) -> torch.Tensor:
    return grid(dim, c.grid_1d if dim == 1 else c.grid_2d)


def _target(c: Config, dim: int, units: int):
    n1 = target_network(dim, units, c.gamma, seed=c.target_seed)
    return n1, (n1.hidden[0].weight, n1.hidden[0].bias, n1.readout.weight[0], float(n1.readout.bias[0]))


def _nested_unit(sub, *, config: dict, dim: int, units: int, scheme: str, R: float, seed: int) -> dict:
    """One seed: N2 of the largest width, errors of the construction on its prefixes."""
    c = _config(config)
    n1, params = _target(c, dim, units)
    x = _eval_grid(c, dim)
    y = n1(x).detach()
    g = rng.generator(seed, f"construction/N2/{dim}")
    n_max = c.widths[-1]
    W = (torch.rand((n_max, dim), generator=g) * 2 - 1) * R  # common random numbers across R
    C = (torch.rand(n_max, generator=g) * 2 - 1) * R
    cc = ConstructionConfig(scheme=scheme, candidates=c.candidates, group=c.group)
    out = {"sup": [], "l2": [], "bound": [], "active": []}
    start = time.perf_counter()
    for n in c.widths:
        con = construct_from_weights(*params, W[:n], C[:n], cc)
        e = function_errors(con.forward(W[:n], C[:n], x), y)
        out["sup"].append(e["sup"])
        out["l2"].append(e["l2"])
        out["bound"].append(con.bound)
        out["active"].append(len(con.active))
    return {"dim": dim, "units": units, "scheme": scheme, "R": R, "seed": seed, "widths": list(c.widths), **out,
            "seconds": time.perf_counter() - start}


def _gradient_unit(sub, *, config: dict, width: int, R: float, seed: int) -> dict:
    """Construction (both schemes) and gradient bias learning on the same FeedForward network."""
    c = _config(config)
    dim = c.sweep_dim
    n1, _ = _target(c, dim, c.sweep_units)
    x = _eval_grid(c, dim)
    y = n1(x).detach()
    net = random_network(dim, width, R, seed)
    result = {"width": width, "R": R, "seed": seed, "initial_weights_sha256": net.weights_checksum()}
    for scheme in SCHEMES:
        con = construct(n1, net, ConstructionConfig(scheme=scheme, candidates=c.candidates, group=c.group))
        result[f"construction_{scheme}_sup"] = function_errors(con.forward(net.hidden[0].weight, net.readout.weight[0], x), y)["sup"]

    def f(z):
        with torch.no_grad():
            return n1(z)

    start = time.perf_counter()
    fit(net, f, dim, "bias", lr=c.gradient_lr, epochs=c.gradient_epochs, train_points=c.train_points, data_seed=c.target_seed)
    with torch.no_grad():
        e = function_errors(net(x), y)
    result.update({"bias_sup": e["sup"], "bias_l2": e["l2"], "seconds": time.perf_counter() - start})
    return result


def run(config: Config, folder) -> dict:
    cdict = asdict(config)
    jobs = []
    for d in config.dims:
        for n in config.target_units:
            for s in config.schemes:
                for seed in range(config.seeds):
                    jobs.append((f"nested-d{d}-n{n}-{s}-R{config.R:g}-s{seed}", _nested_unit,
                                 {"config": cdict, "dim": d, "units": n, "scheme": s, "R": config.R, "seed": seed}))
    names = {j[0] for j in jobs}
    for R in config.sweep_Rs:
        for s in config.schemes:
            for seed in range(config.seeds):
                name = f"nested-d{config.sweep_dim}-n{config.sweep_units}-{s}-R{R:g}-s{seed}"
                if name not in names:
                    jobs.append((name, _nested_unit, {"config": cdict, "dim": config.sweep_dim, "units": config.sweep_units,
                                                      "scheme": s, "R": R, "seed": seed}))
    nested = folder.units(jobs, label="construction")
    rows = [{"dim": u["dim"], "units": u["units"], "scheme": u["scheme"], "R": u["R"], "seed": u["seed"], "width": w,
             "sup": u["sup"][k], "l2": u["l2"][k], "bound": u["bound"][k], "active": u["active"][k]}
            for u in nested for k, w in enumerate(u["widths"])]
    folder.write_csv("nested.csv", rows)

    def errors_by_seed(dim, units, scheme, R):
        sel = sorted((u for u in nested if (u["dim"], u["units"], u["scheme"], u["R"]) == (dim, units, scheme, R)),
                     key=lambda u: u["seed"])
        return np.array([u["sup"] for u in sel])

    needed, fits = [], []
    groups = {(d, n, s, config.R) for d in config.dims for n in config.target_units for s in config.schemes}
    groups |= {(config.sweep_dim, config.sweep_units, s, R) for s in config.schemes for R in config.sweep_Rs}
    for d, n, s, R in sorted(groups):
        E = errors_by_seed(d, n, s, R)
        for eps in config.epsilons:
            needed.append({"dim": d, "units": n, "scheme": s, "R": R, "eps": eps, "delta": config.delta,
                           "width_needed": width_needed(config.widths, E, eps, config.delta),
                           "bound_width": bound_width(eps, n, d, config.gamma, R, config.delta)})
        if R == config.R:
            med = np.median(E, axis=0)
            mine = [r for r in needed if (r["dim"], r["units"], r["scheme"], r["R"]) == (d, n, s, R)]
            finite = [r for r in mine if np.isfinite(r["width_needed"])]
            fits.append({"dim": d, "units": n, "scheme": s,
                         "median_sup_vs_width_exponent": fit_power_law(config.widths[2:], med[2:])["exponent"],
                         "theory_sup_vs_width_exponent": -1 / (d + 1) if s == "single" else -1 / d,
                         "width_needed_vs_inv_eps_exponent": fit_power_law([1 / r["eps"] for r in finite],
                                                                           [r["width_needed"] for r in finite])["exponent"],
                         "bound_vs_inv_eps_exponent": d + 1, "eps_reached": [r["eps"] for r in finite]})
    folder.write_csv("width_needed.csv", needed)
    by_units = []
    for d in config.dims:
        for s in config.schemes:
            for eps in config.epsilons:
                sel = [r for r in needed if (r["dim"], r["scheme"], r["R"], r["eps"]) == (d, s, config.R, eps)]
                sel = [r for r in sel if np.isfinite(r["width_needed"])]
                if len(sel) >= 2:
                    by_units.append({"dim": d, "scheme": s, "eps": eps, "width_needed_vs_units_exponent": fit_power_law(
                        [r["units"] for r in sel], [r["width_needed"] for r in sel])["exponent"]})
    k = config.widths.index(config.sweep_width)
    r_sweep = []
    for s in config.schemes:
        for R in config.sweep_Rs:
            errs = errors_by_seed(config.sweep_dim, config.sweep_units, s, R)[:, k]
            r_sweep.append({"scheme": s, "R": R, "width": config.sweep_width, "median_sup": float(np.median(errs)),
                            "q10_sup": float(np.quantile(errs, 0.1)), "q90_sup": float(np.quantile(errs, 0.9)),
                            "success": success_probability(errs, config.sweep_eps), "eps": config.sweep_eps})
    folder.write_csv("r_sweep.csv", r_sweep)

    gjobs = [(f"gradient-w{w}-R{config.R:g}-s{seed}", _gradient_unit, {"config": cdict, "width": w, "R": config.R, "seed": seed})
             for w in config.gradient_widths for seed in range(config.gradient_seeds)]
    gjobs += [(f"gradient-w{config.sweep_width}-R{R:g}-s{seed}", _gradient_unit,
               {"config": cdict, "width": config.sweep_width, "R": R, "seed": seed})
              for R in config.sweep_Rs for seed in range(config.gradient_seeds)]
    gjobs = list({j[0]: j for j in gjobs}.values())
    gradient = folder.units(gjobs, label="construction vs bias learning")
    folder.write_csv("gradient.csv", gradient)

    # one example for the figure: target and construction outputs on seed 0 (sweep target, R)
    n1, params = _target(config, config.sweep_dim, config.sweep_units)
    x = _eval_grid(config, config.sweep_dim)
    g = rng.generator(0, f"construction/N2/{config.sweep_dim}")
    n_max = config.widths[-1]
    W = (torch.rand((n_max, config.sweep_dim), generator=g) * 2 - 1) * config.R
    C = (torch.rand(n_max, generator=g) * 2 - 1) * config.R
    example = {"x": x.numpy(), "target": n1(x).detach().numpy()}
    for w in (config.widths[1], config.sweep_width, config.widths[-1]):
        for s in config.schemes:
            con = construct_from_weights(*params, W[:w], C[:w], ConstructionConfig(s, config.candidates, config.group))
            example[f"{s}/{w}"] = con.forward(W[:w], C[:w], x).numpy()
    folder.save_arrays("example", example)
    folder.write_json("scaling.json", {"fits": fits, "by_units": by_units})
    from biaslearn.plots.construction import plot

    figures = plot(folder.path)
    best = {s: min((r for r in r_sweep if r["scheme"] == s), key=lambda r: r["median_sup"])["R"] for s in config.schemes}
    return {"fits": fits, "by_units": by_units, "best_R_at_sweep_width": best,
            "r_sweep": r_sweep, "figures": [p.name for p in figures]}
