"""Per-epoch training checkpoints: model state, optimizer state, epoch and history, written
atomically with torch.save and read back with weights_only=True (no arbitrary pickle)."""

from __future__ import annotations

from pathlib import Path

import torch

from biaslearn import atomic
from biaslearn.errors import BiaslearnError

FILENAME = "checkpoint.pt"


def save(directory: str | Path, *, model, optimizer, epoch: int, history: list[dict], fingerprint: str) -> None:
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
        "history": history,
        "fingerprint": fingerprint,
    }
    atomic.write_with(Path(directory) / FILENAME, lambda tmp: torch.save(state, tmp))


def load(directory: str | Path, *, fingerprint: str) -> dict | None:
    """The saved state, or None if there is no checkpoint. A checkpoint of another run (other
    config) or an unreadable file is an error: nothing is silently overwritten."""
    path = Path(directory) / FILENAME
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise BiaslearnError(f"checkpoint {path} is unreadable ({type(exc).__name__}); delete it to restart the run") from None
    if state.get("fingerprint") != fingerprint:
        raise BiaslearnError(f"checkpoint {path} belongs to a different run configuration; delete it or use another run folder")
    return state
