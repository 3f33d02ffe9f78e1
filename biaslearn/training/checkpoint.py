"""Per-epoch training checkpoints: model state, optimizer state, epoch and history, written
atomically with torch.save and read back with weights_only=True (no arbitrary pickle)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from biaslearn import atomic
from biaslearn.errors import BiaslearnError

FILENAME = "checkpoint.pt"
log = logging.getLogger("biaslearn.training")


def save(directory: str | Path, *, model, optimizer, epoch: int, history: list[dict], fingerprint: dict) -> None:
    """`fingerprint`: {field: value} of everything that changes the run's result (JSON values)."""
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
        "history": history,
        "fingerprint": fingerprint,
    }
    atomic.write_with(Path(directory) / FILENAME, lambda tmp: torch.save(state, tmp))


def differences(saved: dict, now: dict) -> list[str]:
    """'field: saved value -> this run's value' for every field that differs."""
    return [f"{k}: {saved.get(k, '(absent)')!r} -> {now.get(k, '(absent)')!r}"
            for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]


def load(directory: str | Path, *, fingerprint: dict) -> dict | None:
    """The saved state, or None if there is none or it is unreadable (a damaged file only loses
    progress: the run starts again, with one warning naming the file). A checkpoint of another run
    (any field of the fingerprint differs) is an error naming the fields: nothing is silently
    overwritten or mixed."""
    path = Path(directory) / FILENAME
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        saved = state["fingerprint"]
    except Exception as exc:  # torch raises many types for a damaged file
        log.warning("checkpoint %s is unreadable (%s); training that run again from its start", path, type(exc).__name__)
        return None
    if not isinstance(saved, dict):
        raise BiaslearnError(f"checkpoint {path} was written by an older biaslearn; delete it to restart the run")
    changed = differences(saved, fingerprint)
    if changed:
        raise BiaslearnError(f"checkpoint {path} belongs to another run ({'; '.join(changed)}); "
                             "use another run folder or delete it to restart")
    return state
