"""Where a run's units execute. Every executor has `map(fn, jobs, on_result=None)`: fn(*job) for
each job, results in job order, on_result(index, result) as each one finishes. A unit writes its
result into the run folder itself, so any executor resumes the same way.

- InProcessExecutor: one unit after another in this process (the default).
- RayExecutor: each unit a Ray task, on a local Ray instance or a cluster (`address`). On a
  cluster every node needs biaslearn installed and the run folder on a shared file system."""

from __future__ import annotations

from typing import Callable

from biaslearn.errors import BiaslearnError

EXECUTORS = ("local", "ray")


class InProcessExecutor:
    name = "local"

    def map(self, fn: Callable, jobs: list, on_result: Callable | None = None) -> list:
        results = []
        for i, job in enumerate(jobs):
            results.append(fn(*job))
            if on_result is not None:
                on_result(i, results[-1])
        return results


def _call(fn, threads: int, *args):
    import torch

    torch.set_num_threads(threads)
    return fn(*args)


class RayExecutor:
    """Units as Ray tasks. Each task runs with `threads_per_unit` threads (default: as many as
    this process's torch uses) and reserves as many CPUs: a unit computes exactly what it would
    compute in-process (float reductions depend on the thread count), and Ray runs as many units
    at once as the cluster has CPUs for. `address`: None or "local" starts a local Ray instance;
    "auto" or "host:port" joins a running cluster."""

    name = "ray"

    def __init__(self, address: str | None = None, threads_per_unit: int | None = None):
        try:
            import ray
        except ImportError:
            raise BiaslearnError("executor ray needs Ray: pip install 'ray==2.60.0'") from None
        import torch

        self.threads = int(threads_per_unit or torch.get_num_threads())
        self.ray = ray
        if not ray.is_initialized():
            try:
                ray.init(address=None if address in (None, "local") else address, include_dashboard=False,
                         log_to_driver=False, configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise BiaslearnError(f"executor ray: cannot reach a Ray cluster at {address!r} ({exc}); "
                                     "start one with `ray start --head` or leave --address out for a local one") from None
        self.remote = ray.remote(num_cpus=self.threads, max_retries=0)(_call)

    def map(self, fn: Callable, jobs: list, on_result: Callable | None = None) -> list:
        refs = [self.remote.remote(fn, self.threads, *job) for job in jobs]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list = [None] * len(refs)
        pending = list(refs)
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    results[index[ref]] = self.ray.get(ref)
                except self.ray.exceptions.RayTaskError as exc:
                    cause = exc.as_instanceof_cause()
                    if isinstance(cause, BiaslearnError):
                        raise BiaslearnError(str(cause).split("\n")[-1] or str(cause)) from None
                    raise
                if on_result is not None:
                    on_result(index[ref], results[index[ref]])
        return results


def make_executor(name: str, address: str | None = None):
    if name == "local":
        if address:
            raise BiaslearnError("--address applies to --executor ray only")
        return InProcessExecutor()
    if name == "ray":
        return RayExecutor(address)
    raise BiaslearnError(f"executor: unknown {name!r}; valid: {', '.join(EXECUTORS)}")
