"""Property-based tests (hypothesis): the compiled engine against the PyTorch reference kernel on
drawn shapes, batch sizes, output counts, dtypes, losses and threads; bias banks over drawn names,
sizes and corruptions (truncation, bit flips, other weights): a saved bank loads back to the last
bit, and a damaged one is refused with a BiaslearnError, never another exception."""

import contextlib

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import biaslearn as bl
from biaslearn.engine import compiled, selfcheck
from biaslearn.engine.torch_kernel import TorchKernel

KERNEL_EXAMPLES = 300
BANK_EXAMPLES = 150


@contextlib.contextmanager
def _tiny_problems_use_threads():
    saved, compiled.MIN_WORK = compiled.MIN_WORK, 1  # tiny problems really run on 2-3 threads
    try:
        yield
    finally:
        compiled.MIN_WORK = saved


@pytest.fixture(scope="module")
def native():
    kernel = compiled.load("native")
    if kernel is None:  # under BIASLEARN_REQUIRE_COMPILED (CI) load raises instead of returning None
        pytest.skip("compiled kernel native unavailable on this machine (see the warning)")
    return kernel


@st.composite
def kernel_cases(draw):
    count = draw(st.integers(1, 60))
    return {
        "units": draw(st.one_of(st.integers(1, 40), st.integers(41, 700))),
        "k": draw(st.one_of(st.integers(1, 16), st.integers(17, 40))),
        "dtype": draw(st.sampled_from([torch.float32, torch.bfloat16])),
        "count": count,
        "batch": draw(st.integers(1, 60)),
        "kind": draw(st.sampled_from([0, 1])),  # cross entropy, mse
        "threads": draw(st.integers(1, 3)),
        "want_gb": draw(st.booleans()),
        "want_g": draw(st.booleans()),
        "start": draw(st.integers(0, count - 1)),
        "epoch": draw(st.booleans()),
        "epoch_batch": draw(st.integers(1, count)),
        "networks": draw(st.integers(1, 2)),
        "seed": draw(st.integers(0, 2**31 - 1)),
    }


@settings(max_examples=KERNEL_EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=kernel_cases())
def test_compiled_engine_agrees_with_the_pytorch_kernel(native, case):
    g = torch.Generator().manual_seed(case["seed"])
    problem = selfcheck.problem_of(case["units"], case["k"], case["dtype"], case["batch"], case["count"], case["kind"], g)
    name = f"hypothesis case {case}"
    with _tiny_problems_use_threads():
        selfcheck.check_step_and_logits(native, TorchKernel(), name, problem, case["kind"], case["threads"],
                                        case["want_gb"], case["want_g"], case["start"])
        if case["epoch"]:
            lrs = (1e-2, 3e-3)[: case["networks"]]
            selfcheck.check_epoch(native, name, problem, case["kind"], case["units"], case["threads"], case["epoch_batch"], lrs)


task_names = st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), min_size=1, max_size=12)


@st.composite
def banks(draw):
    sizes = draw(st.tuples(st.integers(1, 12), st.integers(1, 48), st.integers(1, 6)))
    names = draw(st.lists(task_names, min_size=1, max_size=4, unique=True))
    return sizes, names, draw(st.integers(0, 1000))


def _bank(sizes, names, seed):
    net = bl.feedforward(sizes[0], [sizes[1]], sizes[2], seed=seed, readout="uniform_fan_in:4")
    bank = bl.BiasBank(net)
    g = torch.Generator().manual_seed(seed)
    for name in names:
        with torch.no_grad():
            net.hidden[0].bias.copy_(torch.randn(sizes[1], generator=g))
            net.readout.bias.copy_(torch.randn(sizes[2], generator=g))
        bank.store(name)
    return net, bank


@settings(max_examples=BANK_EXAMPLES)
@given(bank=banks())
def test_a_saved_bank_loads_back_to_the_last_bit(tmp_path_factory, bank):
    sizes, names, seed = bank
    net, bank = _bank(sizes, names, seed)
    path = bank.save(tmp_path_factory.mktemp("bank") / "bank.safetensors")
    x = torch.randn(5, sizes[0], generator=torch.Generator().manual_seed(seed))
    loaded = bl.BiasBank.load(path)
    assert loaded.names() == names
    for name in names:
        assert torch.equal(loaded.use(name)(x), bank.use(name)(x))


@settings(max_examples=BANK_EXAMPLES)
@given(bank=banks(), damage=st.sampled_from(["truncate", "flip", "other weights"]), where=st.floats(0, 1, exclude_max=True),
       bit=st.integers(0, 7))
def test_a_damaged_bank_is_refused_never_a_crash(tmp_path_factory, bank, damage, where, bit):
    sizes, names, seed = bank
    _, bank = _bank(sizes, names, seed)
    path = bank.save(tmp_path_factory.mktemp("bank") / "bank.safetensors")
    data = bytearray(path.read_bytes())
    model = None
    if damage == "truncate":
        del data[int(where * len(data)):]
    elif damage == "flip":
        data[int(where * len(data))] ^= 1 << bit
    else:
        model = bl.feedforward(sizes[0], [sizes[1]], sizes[2], seed=seed + 1, readout="uniform_fan_in:4")
    path.write_bytes(bytes(data))
    with pytest.raises(bl.BiaslearnError):
        bl.BiasBank.load(path, model=model)
