"""The fast engine gives the plain autograd loop's losses, gradients and biases (to tolerance).

Tolerances: float32 cache and streaming: relative 1e-4 on losses, absolute 1e-5 on parameters
(different summation order only). bfloat16 cache: P is rounded to 8 significant bits (relative
error <= 2^-9), so losses agree to 1e-2 relative; Adam amplifies tiny gradients' errors (its step
is ~lr whatever the gradient's size), so parameters agree to 1e-2 absolute at worst and 1e-3 on
average after 2 epochs at lr 1e-2 (measured: 4.4e-3 worst, 1.6e-4 mean, vs ~0.1 mean movement)."""

from __future__ import annotations

import logging

import pytest
import torch

import biaslearn as bl
from biaslearn import engine
from biaslearn.engine import compiled, guard, planner
from biaslearn.engine.cache import clear_cache
from biaslearn.engine.runner import EngineRunner
from biaslearn.engine.torch_kernel import TorchKernel
from biaslearn.training.loop import loss_fn
from biaslearn.training.many import train_many
from biaslearn.training.methods import get_method
from kernel_fuzz import VECTOR_BUILDS, can_run

METHODS = ("bias", "bias+readout", "readout", "mask")
TOL = {"float32": (1e-4, 1e-5), "stream": (1e-4, 1e-5), "bfloat16": (1e-2, 1e-2)}


@pytest.fixture(scope="module")
def task():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(400, 30, generator=g)
    w = torch.randn(30, 5, generator=g)
    y = (x @ w + 0.3 * torch.randn(400, 5, generator=g)).argmax(1)
    return bl.from_tensors("toy", x[:300], y[:300], x[300:], y[300:])


@pytest.fixture(scope="module")
def regression():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(260, 12, generator=g)
    y = torch.stack([x[:, 0] * x[:, 1], torch.sin(3 * x[:, 2])], 1)
    return bl.from_tensors("toy-regression", x[:200], y[:200], x[200:], y[200:])


def _net(task, method, seed=0):
    return bl.feedforward(task.in_features, [70], task.out_features, seed=seed, gated=(method == "mask"),
                          bias_init="uniform", readout="uniform_fan_in:1")


def _final(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


@pytest.mark.parametrize("storage", ["float32", "bfloat16", "stream"])
@pytest.mark.parametrize("method", METHODS)
def test_engine_matches_plain_loop(task, method, storage):
    config = bl.TrainConfig(epochs=2, batch_size=32, lr=1e-2, seed=3)
    plain = _net(task, method)
    fast = _net(task, method)
    weights = fast.hidden[0].weight.detach().clone()
    h_plain = bl.train(plain, task, method, bl.TrainConfig(**{**config.__dict__, "engine": "plain"}))
    with engine.configure(cache=storage):
        h_fast = bl.train(fast, task, method, bl.TrainConfig(**{**config.__dict__, "engine": "fast"}))
    rtol, atol = TOL[storage]
    for a, b in zip(h_plain, h_fast):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=rtol)
        assert a["test_loss"] == pytest.approx(b["test_loss"], rel=rtol)
    assert abs(h_plain[-1]["test_accuracy"] - h_fast[-1]["test_accuracy"]) <= (0.0 if storage != "bfloat16" else 0.03)
    for name, value in _final(plain).items():
        torch.testing.assert_close(_final(fast)[name], value, rtol=0, atol=atol, msg=f"{method}/{storage}: {name}")
        assert float((_final(fast)[name] - value).abs().mean()) <= atol / 10
    assert torch.equal(fast.hidden[0].weight, weights)  # frozen weights bitwise unchanged


class _Recorder:
    """Stands in for the optimizer: records the gradients the runner sets, changes nothing."""

    def __init__(self, params):
        self.params, self.grads = params, []

    def step(self):
        self.grads.append([p.grad.clone() for p in self.params])


@pytest.mark.parametrize("kernel", ["auto", "portable", "torch"])
@pytest.mark.parametrize("method", METHODS)
def test_gradients_match_autograd(task, method, kernel):
    net = _net(task, method)
    m = get_method(method)
    params = m.apply(net)
    loss = loss_fn(task, bl.TrainConfig())
    index = torch.randperm(len(task.train), generator=torch.Generator().manual_seed(0))[:45]
    net.train()
    value = loss(net(task.train.x[index]), task.train.y[index])
    want = torch.autograd.grad(value, params)
    with engine.configure(kernel=kernel, cache="float32"):
        runner = EngineRunner(net, task, m)
    recorder = _Recorder(params)
    got_loss = runner(net, params, recorder, task.train, index, loss, 64)
    assert got_loss == pytest.approx(float(value.detach()), rel=1e-5)
    for g, w in zip(recorder.grads[0], want):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-6)


def test_mse_regression_matches_plain(regression):
    config = dict(epochs=2, batch_size=50, lr=1e-2)
    plain, fast = _net(regression, "bias"), _net(regression, "bias")
    h_plain = bl.train(plain, regression, "bias", bl.TrainConfig(**config, engine="plain"))
    h_fast = bl.train(fast, regression, "bias", bl.TrainConfig(**config, engine="fast"))
    assert [h["train_loss"] for h in h_fast] == pytest.approx([h["train_loss"] for h in h_plain], rel=1e-4)
    torch.testing.assert_close(fast.hidden[0].bias, plain.hidden[0].bias, rtol=0, atol=1e-5)


def _compiled(variant: str):
    """The compiled kernel, or a skip whose reason -rs prints (under BIASLEARN_REQUIRE_COMPILED,
    as in CI, compiled.load raises instead: a build that should load and does not fails)."""
    kernel = compiled.load(variant)
    if kernel is None:
        pytest.skip(f"compiled kernel {variant} unavailable on this machine (see the warning)")
    return kernel


@pytest.mark.parametrize("variant", ["native", "portable"])
@pytest.mark.parametrize("outputs", [1, 3, 10, 16, 23])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("units", [50, 600])  # one column tile; several, the last one partial
def test_compiled_kernels_agree_with_torch(variant, outputs, dtype, units, monkeypatch):
    monkeypatch.setattr(compiled, "MIN_WORK", 1)  # let this tiny problem really run on 2 threads
    kernels = [_compiled(variant)]
    g = torch.Generator().manual_seed(outputs)
    npad = planner.padded(units)
    rows = torch.randn(90, npad, generator=g).to(dtype)
    rows[:, units:] = 0
    b, cs, c = torch.randn(npad, generator=g), torch.randn(outputs, npad, generator=g), torch.randn(outputs, generator=g)
    b[units:], cs[:, units:] = 0, 0
    index = torch.randint(0, 90, (33,), generator=g)  # odd batch: a lone row at the end
    y = torch.randint(0, outputs, (33,), generator=g)
    want = TorchKernel().step(rows, index, b, cs, c, 0, y, True, True)
    want_logits = TorchKernel().logits(rows, 5, 17, b, cs, c)
    for kernel in kernels:
        for threads in (1, 2):
            got = kernel.step(rows, index, b, cs, c, 0, y, True, True, threads)
            assert got[0] == pytest.approx(want[0], rel=1e-5)
            for a, w in zip(got[1:], want[1:]):
                torch.testing.assert_close(a, w, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(kernel.logits(rows, 5, 17, b, cs, c, threads), want_logits, rtol=1e-4, atol=1e-4)


def test_planner_choices(caplog):
    with caplog.at_level(logging.DEBUG, logger="biaslearn.engine"):
        assert planner.plan_cache(1000, 100, budget=10**9, mode="auto").storage == "float32"
        assert planner.plan_cache(1000, 100, budget=300_000, mode="auto").storage == "bfloat16"
        assert planner.plan_cache(1000, 100, budget=1000, mode="auto").storage == "stream"
    assert "streaming" in caplog.text


def test_tiny_budget_streams_and_matches(task):
    clear_cache()
    config = bl.TrainConfig(epochs=1, batch_size=40, engine="fast")
    plain, fast = _net(task, "bias"), _net(task, "bias")
    bl.train(plain, task, "bias", bl.TrainConfig(epochs=1, batch_size=40, engine="plain"))
    with engine.configure(memory_budget=1024):
        runner = EngineRunner(fast, task, get_method("bias"))
        assert runner.plan.storage == "stream"
        bl.train(fast, task, "bias", config)
    torch.testing.assert_close(fast.hidden[0].bias, plain.hidden[0].bias, rtol=0, atol=1e-5)


def test_cache_is_reused_across_calls(task, caplog):
    clear_cache()
    with caplog.at_level(logging.DEBUG, logger="biaslearn.engine"):
        for seed in (0, 1):  # same weights (seed 0 net), different data order
            bl.train(_net(task, "bias"), task, "bias", bl.TrainConfig(epochs=1, seed=seed, engine="fast"))
    assert caplog.text.count("engine cache built") == 2  # train and test rows, once
    assert "engine cache reused" in caplog.text


def test_engine_does_not_apply_to_full_training(task):
    net = _net(task, "full")
    assert engine.why_not(net, task, get_method("full"))
    with pytest.raises(bl.BiaslearnError, match="does not apply"):
        bl.train(net, task, "full", bl.TrainConfig(epochs=1, engine="fast"))
    deep = bl.feedforward(task.in_features, [8, 8], task.out_features, seed=0)
    assert "hidden layers" in engine.why_not(deep, task, get_method("bias"))


@pytest.mark.parametrize("interleave", [False, True, "auto"])
def test_train_many_matches_separate_runs(task, interleave):
    configs = [bl.TrainConfig(epochs=2, batch_size=32, lr=lr, seed=5, engine="fast") for lr in (1e-2, 3e-3, 1e-3)]
    alone = [bl.train(_net(task, "bias"), task, "bias", c) for c in configs]
    nets = [_net(task, "bias") for _ in configs]
    together = train_many(nets, task, "bias", configs, interleave=interleave)
    for a, t in zip(alone, together):
        assert [h["train_loss"] for h in t] == pytest.approx([h["train_loss"] for h in a], rel=1e-6)
        assert [h["test_accuracy"] for h in t] == [h["test_accuracy"] for h in a]
    with pytest.raises(bl.BiaslearnError, match="share the first-layer weights"):
        train_many([_net(task, "bias"), _net(task, "bias", seed=1)], task, "bias")
    with pytest.raises(bl.BiaslearnError, match="interleave must be"):
        train_many(nets, task, "bias", configs, interleave="sometimes")


def test_train_many_auto_measures_both_ways(task, caplog):
    """interleave="auto" times both ways in the first epoch (alternating runs of batches) and logs
    the choice; the measured epoch trains exactly as interleave=False does."""
    _compiled("native")  # skips only where no compiled kernel builds (and fails under BIASLEARN_REQUIRE_COMPILED)
    configs = [bl.TrainConfig(epochs=2, batch_size=32, lr=lr, seed=5, engine="fast") for lr in (1e-2, 3e-3)]
    with engine.configure(cache="float32"):
        want = train_many([_net(task, "bias") for _ in configs], task, "bias", configs, interleave=False)
        nets = [_net(task, "bias") for _ in configs]
        with caplog.at_level(logging.INFO, logger="biaslearn.engine"):
            got = train_many(nets, task, "bias", configs, interleave="auto")
    assert all(history[0]["way"] == "measured" and history[1]["way"] != "measured" for history in got)  # epoch 1 timed both ways
    assert "2 networks, interleaved" in caplog.text and "per batch" in caplog.text
    for a, b in zip(want, got):
        assert [h["train_loss"] for h in b] == pytest.approx([h["train_loss"] for h in a], rel=1e-6)
        assert [h["test_accuracy"] for h in b] == [h["test_accuracy"] for h in a]


def test_interleaved_networks_run_in_one_compiled_call(task):
    """train_many(interleave=True) on cached rows takes the joint compiled path (rows read once per
    batch for all networks), and that path gives each network's own batch-by-batch result."""
    from biaslearn.engine.runner import JOINT_BATCH_BYTES, can_run_together, joint_pays, run_together

    loss = loss_fn(task, bl.TrainConfig())
    order = torch.randperm(len(task.train), generator=torch.Generator().manual_seed(0))
    finals = {}
    for joint in (True, False):
        nets = [_net(task, "bias") for _ in range(3)]
        params = [get_method("bias").apply(n) for n in nets]
        optimizers = [torch.optim.Adam(p, lr=lr) for p, lr in zip(params, (1e-2, 3e-3, 1e-3))]
        with engine.configure(cache="float32"):
            runners = [EngineRunner(n, task, get_method("bias")) for n in nets]
        states = [r.epoch(n, p, o, task.train, loss) for r, n, p, o in zip(runners, nets, params, optimizers)]
        if not states[0].whole_epoch():
            pytest.skip("no compiled kernel")
        assert can_run_together(states)
        assert joint_pays(states, 32)  # 32 rows x 80 floats: far below JOINT_BATCH_BYTES
        assert not joint_pays(states, JOINT_BATCH_BYTES // (80 * 4) + 1) and not joint_pays(states[:1], 32)
        means = run_together(states, order, 32) if joint else [s.run(order, 32) for s in states]
        finals[joint] = (means, [[p.detach().clone() for p in ps] for ps in params])
    assert finals[True][0] == finals[False][0]
    for a, b in zip(finals[True][1], finals[False][1]):
        for x, y in zip(a, b):
            assert torch.equal(x, y)


def test_resume_from_checkpoint_with_engine(task, tmp_path):
    config = bl.TrainConfig(epochs=3, batch_size=64, lr=1e-2, engine="fast")
    whole = bl.train(_net(task, "bias"), task, "bias", config)
    class Interrupt(Exception):
        pass

    def stop_after_second(record):
        if record["epoch"] == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        bl.train(_net(task, "bias"), task, "bias", config, checkpoint_dir=tmp_path, on_epoch=stop_after_second)
    # a new process would rebuild the net from its spec; the checkpoint restores biases and Adam
    resumed = bl.train(_net(task, "bias"), task, "bias", config, checkpoint_dir=tmp_path)
    assert [h["train_loss"] for h in resumed] == pytest.approx([h["train_loss"] for h in whole], rel=1e-6)


@pytest.mark.parametrize("variant", ["native", "portable"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_compiled_adam_matches_torch_adam(variant, weight_decay):
    kernel = _compiled(variant)
    g = torch.Generator().manual_seed(5)
    want = torch.randn(1000, generator=g)
    got, mirror = want.clone(), torch.zeros(1000)
    optimizer = torch.optim.Adam([want], lr=3e-3, betas=(0.8, 0.99), eps=1e-7, weight_decay=weight_decay)
    exp_avg, exp_avg_sq, step = torch.zeros(1000), torch.zeros(1000), torch.tensor(0.0)
    for i in range(50):
        grad = torch.randn(1000, generator=g) * 10.0 ** (i % 5 - 3)
        want.grad = grad.clone()
        optimizer.step()
        kernel.adam(got, grad, exp_avg, exp_avg_sq, step, 3e-3, 0.8, 0.99, 1e-7, weight_decay, mirror)
    state = optimizer.state[want]
    assert float(step) == float(state["step"]) == 50.0
    torch.testing.assert_close(exp_avg, state["exp_avg"], rtol=1e-5, atol=1e-6)  # grads up to 10
    torch.testing.assert_close(exp_avg_sq, state["exp_avg_sq"], rtol=1e-5, atol=1e-12)
    torch.testing.assert_close(got, want.detach(), rtol=1e-6, atol=1e-6)
    assert torch.equal(mirror, got)


def test_engine_adam_state_matches_plain(task):
    """With torch.optim.Adam the engine takes the step in C for b1 and c: the optimizer state
    (step count, moments) ends as the plain loop's, and an unsupported Adam setting falls back."""
    from biaslearn.engine.runner import _c_adam_groups

    config = bl.TrainConfig(epochs=2, batch_size=32, lr=1e-2, seed=3)
    params_by = {}
    for engine_name in ("plain", "fast"):
        net = _net(task, "bias")
        params = get_method("bias").apply(net)
        optimizer = torch.optim.Adam(params, lr=config.lr)
        runner = EngineRunner(net, task, get_method("bias")) if engine_name == "fast" else None
        if runner is not None:
            assert _c_adam_groups(optimizer, runner.kernel, params) is not None or not hasattr(runner.kernel, "adam")
        loss = loss_fn(task, config)
        for epoch in range(2):
            order = torch.randperm(len(task.train), generator=torch.Generator().manual_seed(epoch))
            if runner is None:
                from biaslearn.training.loop import plain_epoch

                plain_epoch(net, params, optimizer, task.train, order, loss, 32)
            else:
                runner(net, params, optimizer, task.train, order, loss, 32)
        params_by[engine_name] = (params, optimizer)
    (pp, po), (fp, fo) = params_by["plain"], params_by["fast"]
    for a, b in zip(pp, fp):
        torch.testing.assert_close(b.detach(), a.detach(), rtol=0, atol=1e-5)
        sa, sb = po.state[a], fo.state[b]
        assert float(sa["step"]) == float(sb["step"]) == 20.0
        torch.testing.assert_close(sb["exp_avg"], sa["exp_avg"], rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(sb["exp_avg_sq"], sa["exp_avg_sq"], rtol=1e-3, atol=1e-9)
    kernel = compiled.load("native") or compiled.load("portable")
    if kernel is not None:
        for options in ({"amsgrad": True}, {"maximize": True}, {"lr": torch.tensor(1e-2)}):
            assert _c_adam_groups(torch.optim.Adam(pp, **options), kernel, pp) is None
        assert _c_adam_groups(torch.optim.SGD(pp, lr=0.1), kernel, pp) is None


@pytest.mark.parametrize("kernel", ["auto", "portable"])
@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_one_call_epoch_matches_batch_by_batch(task, regression, kernel, kind):
    """The compiled whole-epoch call (steps and Adam in C) gives the batch-by-batch runner's
    parameters, optimizer state, last gradients and mean loss; odd batch sizes included."""
    data = task if kind == "classification" else regression
    results = []
    for one_call in (True, False):
        net = _net(data, "bias")
        params = get_method("bias").apply(net)
        optimizer = torch.optim.Adam(params, lr=1e-2, betas=(0.85, 0.995), weight_decay=1e-3)
        with engine.configure(kernel=kernel, cache="float32"):
            runner = EngineRunner(net, data, get_method("bias"))
        if not hasattr(runner.kernel, "epoch"):
            pytest.skip(f"compiled kernel {kernel} unavailable")
        loss = loss_fn(data, bl.TrainConfig())
        means = []
        for epoch in range(2):
            order = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(epoch))
            if one_call:
                means.append(runner(net, params, optimizer, data.train, order, loss, 31))
            else:
                state = runner.epoch(net, params, optimizer, data.train, loss)
                values = [state.step(order[s : s + 31]) for s in range(0, len(order), 31)]
                means.append(sum(values) / len(values))
        results.append((means, [p.detach().clone() for p in params], [p.grad.clone() for p in params],
                        [optimizer.state[p]["exp_avg_sq"].clone() for p in params]))
    (m1, p1, g1, v1), (m2, p2, g2, v2) = results
    assert m1 == pytest.approx(m2, rel=1e-12)
    for a, b in zip(p1 + g1 + v1, p2 + g2 + v2):
        assert torch.equal(a, b)


@pytest.mark.parametrize("build", sorted(VECTOR_BUILDS))
def test_each_vector_path_agrees_with_torch(build, tmp_path, monkeypatch):
    """The AVX2 path (with and without pdep) and the AVX-512 path give the PyTorch kernel's loss,
    gradients and logits, odd batches, several column tiles, 3-16 outputs and units at z = 0 exactly
    (off, as torch's ReLU gradient has it: a mask taking z >= 0 fails this test) included."""
    flags, needs, bits = VECTOR_BUILDS[build]
    if not can_run(build):
        pytest.skip(f"this CPU cannot run the {build} path")
    target = tmp_path / f"fused-{build}.so"
    compiled.compile_source(compiled.SOURCE, "portable", target, flags)
    verdict = guard.run_check(build, target)  # a crash here fails the test, not the test run
    assert verdict.good, f"{build} path: {verdict.reason}"
    kernel = compiled.CompiledKernel(build, target)
    assert int(kernel.lib.bl_simd_bits()) == bits
    monkeypatch.setattr(compiled, "MIN_WORK", 1)
    g = torch.Generator().manual_seed(7)
    for units, outputs, dtype, batch in ((600, 10, torch.float32, 33), (50, 3, torch.bfloat16, 20), (300, 16, torch.float32, 7)):
        npad = planner.padded(units)
        rows = torch.randn(90, npad, generator=g).to(dtype)
        rows[:, units:] = 0
        rows[3, :7] = 0  # z exactly 0 where b is 0: the unit is off (torch's ReLU gradient at 0)
        b, cs, c = torch.randn(npad, generator=g), torch.randn(outputs, npad, generator=g), torch.randn(outputs, generator=g)
        b[units:], cs[:, units:], b[:7] = 0, 0, 0
        index = torch.randint(0, 90, (batch,), generator=g)
        index[0] = 3
        y = torch.randint(0, outputs, (batch,), generator=g)
        want = TorchKernel().step(rows, index, b, cs, c, 0, y, True, True)
        for threads in (1, 2):
            got = kernel.step(rows, index, b, cs, c, 0, y, True, True, threads)
            assert got[0] == pytest.approx(want[0], rel=1e-5)
            for a, w in zip(got[1:], want[1:]):
                torch.testing.assert_close(a, w, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(kernel.logits(rows, 5, 17, b, cs, c, threads), TorchKernel().logits(rows, 5, 17, b, cs, c),
                                       rtol=1e-4, atol=1e-4)


def _thp_mode() -> str:
    try:
        text = open("/sys/kernel/mm/transparent_hugepage/enabled").read()
    except OSError:
        return ""
    return text.split("[")[1].split("]")[0] if "[" in text else ""


def test_huge_pages_are_asked_for_large_tensors_only():
    from biaslearn.engine.hugepages import MIN_BYTES, advise_huge

    assert advise_huge(torch.empty(1000)) is False  # small: left alone
    if _thp_mode() not in ("madvise", "always"):
        pytest.skip("no transparent huge pages on this machine")
    big = torch.empty(MIN_BYTES // 4 + 4096)
    assert advise_huge(big) is True
    big.fill_(1.5)  # the memory stays an ordinary, writable tensor
    assert float(big.sum()) == 1.5 * big.numel()


def test_native_step_is_bitwise_the_same_on_any_number_of_threads(monkeypatch):
    """The vector paths share a batch's work dynamically between threads; every sum still runs in
    a fixed order (bias gradient by column over all rows, loss and output gradient by row), so 1,
    2 or 3 threads give the same bits, whoever took which rows."""
    monkeypatch.setattr(compiled, "MIN_WORK", 1)
    kernel = _compiled("native")
    if not kernel.simd:
        pytest.skip("no vector path on this CPU")
    g = torch.Generator().manual_seed(7)
    npad = planner.padded(2100)  # several bias chunks (32 blocks) and a partial one
    rows = torch.randn(300, npad, generator=g)
    b, cs, c = torch.randn(npad, generator=g), torch.randn(10, npad, generator=g), torch.randn(10, generator=g)
    index = torch.randint(0, 300, (201,), generator=g)  # 13 row groups, the last with 9 rows
    y = torch.randint(0, 10, (201,), generator=g)
    one = kernel.step(rows, index, b, cs, c, 0, y, True, True, 1)
    for threads in (2, 3):
        got = kernel.step(rows, index, b, cs, c, 0, y, True, True, threads)
        assert got[0] == one[0]
        for a, w in zip(got[1:], one[1:]):
            assert torch.equal(a, w)


def _adam_spec(n, lr):
    return (torch.zeros(n), torch.zeros(n), torch.zeros(n), torch.zeros((), dtype=torch.float32), (lr, 0.9, 0.99, 1e-8, 1e-4))


def test_native_epoch_gives_the_steps_bits_on_any_threads(monkeypatch):
    """The compiled whole-epoch call (bl_epoch: steps and Adam in C) of two networks on shared rows,
    several bias chunks and a partial one, units short of the padding, an odd last batch: the
    parameters, Adam moments, last gradients and batch losses equal, bit for bit, those of
    batch-by-batch steps and Adam updates, on 1 or 3 threads."""
    monkeypatch.setattr(compiled, "MIN_WORK", 1)
    kernel = _compiled("native")
    if not kernel.simd:
        pytest.skip("no vector path on this CPU")
    g = torch.Generator().manual_seed(11)
    units, count, batch = 2100, 181, 40
    npad = planner.padded(units)
    rows = torch.randn(count, npad, generator=g)
    rows[:, units:] = 0
    order = torch.randperm(count, generator=g)
    y = torch.randint(0, 10, (count,), generator=g)
    start = [(torch.randn(npad, generator=g), torch.randn(10, npad, generator=g) / 30, torch.randn(10, generator=g)) for _ in range(2)]
    for b, cs, _ in start:
        b[units:], cs[:, units:] = 0, 0

    def fresh(lrs):
        nets = []
        for (b, cs, c), lr in zip(start, lrs):
            b1, cc = _adam_spec(units, lr), _adam_spec(10, lr)
            b1[0].copy_(b[:units])
            cc[0].copy_(c)
            nets.append({"b": b.clone(), "cs": cs, "c": c.clone(), "y": y, "b1_adam": b1, "c_adam": cc})
        return nets

    def state(net):
        return [net["b"], net["c"], *net["b1_adam"][:4], *net["c_adam"][:4]]

    lrs = (1e-2, 3e-3)
    by_steps = fresh(lrs)
    expected = []
    for net in by_steps:
        losses = []
        for s in range(0, count, batch):
            index = order[s : s + batch]
            loss, gb, _, gc = kernel.step(rows, index, net["b"], net["cs"], net["c"], 0, y[index], True, False, 2)
            p, m, v, t, h = net["b1_adam"]
            kernel.adam(p, gb[:units], m, v, t, *h, mirror=net["b"])
            p, m, v, t, h = net["c_adam"]
            kernel.adam(p, gc, m, v, t, *h, mirror=net["c"])
            losses.append(loss)
        expected.append((losses, gb, gc))
    for threads in (1, 3):
        nets = fresh(lrs)
        got = kernel.epoch(rows, order, batch, nets, 0, threads)
        for (losses, gb, gc), (want_losses, want_gb, want_gc) in zip(got, expected):
            assert losses == want_losses
            assert torch.equal(gb, want_gb) and torch.equal(gc, want_gc)
        for net, ref in zip(nets, by_steps):
            for a, w in zip(state(net), state(ref)):
                assert torch.equal(a, w)


def test_activity_rows_from_the_stored_projection_are_bitwise_the_matmuls(task):
    """readout-only's cache relu(X W1^T + b1) built from a stored float32 projection equals, bit for
    bit, the one built by the matmul (and so trains the same)."""
    from biaslearn.engine.cache import Rows, get_rows

    clear_cache()
    net = _net(task, "readout")
    weight, bias = net.hidden[0].weight, net.hidden[0].bias.detach() + 0.1
    direct = Rows(task.train.x, weight, bias, "float32").data
    get_rows(task.train.x, weight, None, "float32", 10**9)  # the projection, stored
    derived = get_rows(task.train.x, weight, bias, "float32", 10**9)
    assert torch.equal(derived.data, direct)
    clear_cache()
