"""Seeded random-shape fuzz of a compiled kernel build against the PyTorch kernel.

    python tests/kernel_fuzz.py PATH [--cases 300] [--seed 0] [--name NAME]

loads the build at PATH (any fused.c build: the engine's, or one with sanitizers, see
test_kernel_sanitizers.py), runs the self-check (biaslearn/engine/selfcheck.py: the agreement
cases) and then `--cases` random problems: widths 1-1,100 (one to five column tiles, several
bias chunks), 1-64 outputs (the blocked paths up to 16, the per-thread loops beyond), 1-80 rows,
batches of 1-70 with repeated rows, float32 or bfloat16 rows, cross entropy or mse, 1-3 threads,
with or without each gradient; every third case also a whole epoch of one or two networks with
Adam. Prints one line per 100 cases and a summary; exit status 1 on the first mismatch."""

from __future__ import annotations

import argparse
import platform
import random
import sys
from pathlib import Path

import torch

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from biaslearn.engine import compiled, selfcheck  # noqa: E402
from biaslearn.engine.torch_kernel import TorchKernel  # noqa: E402


# Each vector path of fused.c built explicitly on the portable flags (whatever -march=native picks on
# this CPU): name -> (extra gcc flags, CPU flags needed, bl_simd_bits expected). "avx2-no-pdep" is
# the shift variant that Zen 1/2 get; used by test_engine.py and test_kernel_sanitizers.py.
VECTOR_BUILDS = {
    "avx2": (["-mavx2", "-mfma", "-mbmi2", "-mno-avx512f"], {"avx2", "fma", "bmi2"}, 256),
    "avx2-no-pdep": (["-mavx2", "-mfma", "-mno-avx512f", "-DBL_FAST_PDEP=0"], {"avx2", "fma"}, 256),
    "avx512": (["-mavx512f", "-mavx512bw", "-mavx2", "-mfma"], {"avx512f", "avx512bw"}, 512),
}


def cpu() -> tuple[str, set[str]]:
    """(model name, ISA flags) of this CPU from /proc/cpuinfo (flags empty where it is absent)."""
    try:
        lines = open("/proc/cpuinfo").read().splitlines()
    except OSError:
        return platform.processor() or platform.machine(), set()
    model = next((l.split(":", 1)[1].strip() for l in lines if l.startswith("model name")), platform.machine())
    flags = next((set(l.split(":", 1)[1].split()) for l in lines if l.startswith("flags")), set())
    return model, flags


def can_run(build: str) -> bool:
    return platform.machine() in ("x86_64", "AMD64") and VECTOR_BUILDS[build][1] <= cpu()[1]


def random_case(r: random.Random) -> dict:
    units = r.choice([r.randint(1, 40), r.randint(1, 1100)])
    count = r.randint(1, 80)
    return {
        "units": units,
        "k": r.randint(1, 16) if r.random() < 0.6 else r.randint(17, 64),
        "dtype": r.choice([torch.float32, torch.bfloat16]),
        "count": count,
        "batch": r.randint(1, 70),
        "kind": r.randint(0, 1),
        "threads": r.randint(1, 3),
        "want_gb": r.random() < 0.8,
        "want_g": r.random() < 0.5,
        "start": r.randint(0, count - 1),
        "epoch_batch": r.randint(1, count),
        "networks": r.randint(1, 2),
    }


def fuzz(kernel, cases: int, seed: int = 0, log=print) -> int:
    """Run `cases` random problems on `kernel`; raises selfcheck.SelfCheckMismatch on the first
    disagreement. Returns the number of cases run."""
    reference = TorchKernel()
    saved, compiled.MIN_WORK = compiled.MIN_WORK, 1  # tiny problems really run on 2-3 threads
    try:
        for i in range(cases):
            r = random.Random(seed * 1_000_003 + i)
            c = random_case(r)
            g = torch.Generator().manual_seed(seed * 1_000_003 + i)
            problem = selfcheck.problem_of(c["units"], c["k"], c["dtype"], c["batch"], c["count"], c["kind"], g)
            name = f"fuzz case {i} (seed {seed}): {c}"
            selfcheck.check_step_and_logits(kernel, reference, name, problem, c["kind"], c["threads"],
                                            c["want_gb"], c["want_g"], c["start"])
            if i % 3 == 0:
                lrs = (1e-2, 3e-3)[: c["networks"]]
                selfcheck.check_epoch(kernel, name, problem, c["kind"], c["units"], c["threads"], c["epoch_batch"], lrs)
            if (i + 1) % 100 == 0:
                log(f"  {i + 1} cases agree")
    finally:
        compiled.MIN_WORK = saved
    return cases


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path", help="a compiled fused.c build (.so)")
    p.add_argument("--cases", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default="fuzz")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    kernel = compiled.CompiledKernel(args.name, Path(args.path))
    try:
        selfcheck.check(kernel)
        print(f"{kernel.name}: self-check agrees ({len(selfcheck.CASES)} shapes x 1-3 threads)", flush=True)
        done = fuzz(kernel, args.cases, args.seed, log=lambda line: print(line, flush=True))
    except selfcheck.SelfCheckMismatch as err:
        print(f"mismatch: {err}", file=sys.stderr)
        return 1
    print(f"{kernel.name}: {done} fuzz cases agree with the PyTorch kernel")
    return 0


if __name__ == "__main__":
    sys.exit(main())
