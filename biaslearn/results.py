"""Run folders: everything a run produces lives in one directory.

    <run>/config.json      resolved config + experiment name + library/torch versions + git commit
    <run>/summary.json     the run's final numbers (written last: its presence means "complete")
    <run>/units.json       SHA-256 of every unit's result.json when the summary was written
    <run>/units/<name>/    one resumable unit of work each (result.json marks it complete)
    <run>/*.json|csv|npz|png  metrics, arrays, figures

All writes are atomic. A unit whose result.json holds a result is never recomputed, so an
interrupted run resumes where it stopped; a unit whose result.json is damaged is computed again
(one warning names the file)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import platform
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from biaslearn import atomic
from biaslearn.errors import BiaslearnError
from biaslearn.executors import InProcessExecutor
from biaslearn.progress import Progress

UNIT_RESULT = "result.json"
log = logging.getLogger("biaslearn.results")


def versions() -> dict[str, str]:
    import torch
    from importlib import metadata

    try:
        version = metadata.version("biaslearn")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        version = "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "biaslearn": version,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "git_commit": commit or "unknown",
    }


def _run_unit(folder: "RunFolder", name: str, fn: Callable, kwargs: dict) -> dict:
    return folder.unit(name, fn, **kwargs)


class RunFolder:
    def __init__(self, path: str | Path, *, show_progress: bool = True, executor=None):
        """`executor`: where units run (biaslearn.executors; default one after another here)."""
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BiaslearnError(f"run folder {self.path}: cannot be created ({exc.strerror}); pick a folder you can write to") from None
        self.show_progress = show_progress
        self.executor = executor or InProcessExecutor()

    def __reduce__(self):  # picklable for executors in other processes
        return (RunFolder, (str(self.path),), {"show_progress": self.show_progress})

    def __setstate__(self, state):
        self.show_progress = state["show_progress"]
        self.executor = InProcessExecutor()

    # ---- files -------------------------------------------------------------------------------
    def file(self, name: str) -> Path:
        return self.path / name

    def write_json(self, name: str, obj: Any) -> Path:
        return atomic.write_json(self.file(name), obj)

    def read_json(self, name: str) -> Any:
        path = self.file(name)
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise BiaslearnError(f"{path}: not found; is this a complete run folder?") from None
        except json.JSONDecodeError as exc:
            raise BiaslearnError(f"{path}: corrupt JSON ({exc})") from None

    def write_csv(self, name: str, rows: Iterable[dict]) -> Path:
        rows = list(rows)
        fields: list[str] = []
        for row in rows:
            fields += [k for k in row if k not in fields]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
        return atomic.write_text(self.file(name), buffer.getvalue())

    def save_arrays(self, name: str, arrays: dict[str, np.ndarray]) -> Path:
        name = name if name.endswith(".npz") else name + ".npz"

        def writer(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})

        return atomic.write_with(self.file(name), writer)

    def load_arrays(self, name: str) -> dict[str, np.ndarray]:
        name = name if name.endswith(".npz") else name + ".npz"
        with np.load(self.file(name), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    def save_figure(self, name: str, figure) -> Path:
        name = name if name.endswith(".png") else name + ".png"
        return atomic.write_with(self.file(name), lambda tmp: figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))

    # ---- resumable units ---------------------------------------------------------------------
    def sub(self, name: str) -> "RunFolder":
        return RunFolder(self.path / "units" / name, show_progress=False)

    def unit_done(self, name: str) -> bool:
        return (self.path / "units" / name / UNIT_RESULT).exists()

    def unit(self, name: str, fn: Callable[..., dict], **kwargs) -> dict:
        """fn(subfolder, **kwargs) -> dict, run once: a completed unit's saved result is returned
        (a damaged one is computed again)."""
        sub = self.sub(name)
        saved = _readable_result(sub.file(UNIT_RESULT))
        if saved is not None:
            return saved
        result = fn(sub, **kwargs)
        sub.write_json(UNIT_RESULT, result)
        return result

    def units(self, jobs: list[tuple[str, Callable, dict]], label: str = "") -> list[dict]:
        """Run many units through the executor, skipping finished ones; results in job order."""
        finished = [self.unit_done(name) for name, _, _ in jobs]
        bar = self.progress(len(jobs), label, initial=sum(finished))

        def shown(i: int, result: dict) -> None:
            if not finished[i]:
                metrics = {k: result[k] for k in ("test_loss", "test_accuracy") if isinstance(result.get(k), float)}
                bar.update(1, unit=jobs[i][0], **metrics)

        return self.executor.map(_run_unit, [(self, n, f, k) for n, f, k in jobs], on_result=shown)

    def unit_results(self) -> dict[str, str]:
        """{unit path under units/: SHA-256 of its result.json} for every finished unit, nested ones included."""
        root = self.path / "units"
        files = sorted(root.rglob(UNIT_RESULT)) if root.is_dir() else []
        return {str(f.parent.relative_to(root)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}

    def damaged_units(self, recorded: dict[str, str] | None) -> list[str]:
        """Units whose result.json is missing, unreadable or changed since `recorded` (unit_results
        at the time the summary was written; None: check only that each result reads). Their
        result.json is removed, so the next run computes them again."""
        root = self.path / "units"
        if recorded is None:
            recorded = {str(f.parent.relative_to(root)): None for f in root.rglob(UNIT_RESULT)} if root.is_dir() else {}
        damaged = []
        for name, digest in recorded.items():
            path = root / name / UNIT_RESULT
            data = path.read_bytes() if path.exists() else b""
            ok = bool(data) and (digest is None or hashlib.sha256(data).hexdigest() == digest) and _parses_to_dict(data)
            if not ok:
                log.warning("%s is missing or damaged; that unit is computed again", path)
                path.unlink(missing_ok=True)
                damaged.append(name)
        return damaged

    def progress(self, total: int, label: str = "", initial: int = 0) -> Progress:
        return Progress(total, label, enabled=self.show_progress, initial=initial)


def _parses_to_dict(data: bytes) -> bool:
    try:
        return isinstance(json.loads(data), dict)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False


def _readable_result(path: Path) -> dict | None:
    """The unit result saved at `path`, or None if there is none or it is damaged (then it is
    removed, with one warning naming it)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if _parses_to_dict(data):
        return json.loads(data)
    log.warning("%s is damaged; that unit is computed again", path)
    path.unlink(missing_ok=True)
    return None
