"""A bias bank: one network with frozen weights, many named bias vectors (one per task).

`bank.store("fmnist")` copies the network's current biases (every parameter of role bias,
readout_bias or initial_state); `bank.use("fmnist")` writes them back. Saved as safetensors (no
pickle) together with the frozen weights and their SHA-256, so a file is complete on its own and
can never be applied to a network with other weights."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from biaslearn import atomic
from biaslearn.errors import BiaslearnError
from biaslearn.models.roles import parameter_roles

FORMAT = "biaslearn-bias-bank/1"
BANK_ROLES = ("bias", "readout_bias", "initial_state")


def bank_parameter_names(model: nn.Module) -> list[str]:
    roles = parameter_roles(model)
    ids = {id(p) for role in BANK_ROLES for p in roles[role]}
    return [name for name, p in model.named_parameters() if id(p) in ids]


def frozen_tensors(model: nn.Module, banked=None) -> dict[str, torch.Tensor]:
    """Every parameter and buffer that is not a bank entry (`banked`, default
    bank_parameter_names), by state-dict name."""
    banked = set(bank_parameter_names(model) if banked is None else banked)
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if k not in banked}


def tensors_checksum(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


class BiasBank:
    """Named bias vectors for one network. `bank.names()`, `store`, `use`, `save`, `BiasBank.load`.

    `parameters` names the tensors a bank entry holds (default: every bias, the readout's bias and
    a learned initial state; for a pretrained model, e.g. `bias_only(model).names`); every other
    parameter and buffer is the frozen part, identified by its SHA-256."""

    def __init__(self, model: nn.Module, parameters=None):
        self.model = model
        known = dict(model.named_parameters())
        self.parameters = list(bank_parameter_names(model) if parameters is None else parameters)
        unknown = [k for k in self.parameters if k not in known]
        if unknown or not self.parameters:
            raise BiaslearnError(f"bias bank: parameters {unknown or '(none)'} are not parameters of the model; "
                                 f"it has {', '.join(list(known)[:6])}{', ...' if len(known) > 6 else ''}")
        self.entries: dict[str, dict[str, torch.Tensor]] = {}
        self.checksum = tensors_checksum(frozen_tensors(model, self.parameters))

    def names(self) -> list[str]:
        return list(self.entries)

    def _check_weights(self) -> None:
        now = tensors_checksum(frozen_tensors(self.model, self.parameters))
        if now != self.checksum:
            raise BiaslearnError(
                "bias bank: the network's frozen weights changed since the bank was made "
                f"(sha256 {self.checksum[:12]} -> {now[:12]}); biases are only meaningful with their weights"
            )

    def store(self, name: str) -> None:
        if not isinstance(name, str) or not name or "/" in name:
            raise BiaslearnError(f"bias bank: task name must be a non-empty string without '/', got {name!r}")
        self._check_weights()
        params = dict(self.model.named_parameters())
        self.entries[name] = {k: params[k].detach().clone() for k in self.parameters}

    def use(self, name: str) -> nn.Module:
        """Load the biases stored under `name` into the network (in place); returns the network."""
        if name not in self.entries:
            raise BiaslearnError(f"bias bank: no task {name!r}; stored: {', '.join(self.entries) or '(none)'}")
        self._check_weights()
        params = dict(self.model.named_parameters())
        with torch.no_grad():
            for k, v in self.entries[name].items():
                params[k].copy_(v)
        return self.model

    def save(self, path: str | Path, *, weights: bool = True) -> Path:
        """Write the bank. weights=False leaves the frozen weights out (only their checksum is
        kept): the file of a pretrained model's bank then holds its bias vectors alone, and
        loading it needs the model."""
        from safetensors.torch import save_file

        frozen = frozen_tensors(self.model, self.parameters)
        tensors = {f"weights/{k}": v for k, v in frozen.items()} if weights else {}
        for task, entry in self.entries.items():
            tensors.update({f"bank/{task}/{k}": v.contiguous() for k, v in entry.items()})
        spec = getattr(self.model, "spec", None)
        metadata = {
            "format": FORMAT,
            "checksum": self.checksum,
            "tasks": json.dumps(self.names()),
            "model": type(self.model).__name__,
            "spec": json.dumps(spec.__dict__ if spec is not None else None, default=list),
            "parameters": json.dumps(self.parameters),
            "weights": "stored" if weights else "checksum only",
        }
        metadata["content"] = _content_checksum(metadata, tensors)
        return atomic.write_with(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))

    @classmethod
    def load(cls, path: str | Path, model: nn.Module | None = None) -> "BiasBank":
        """Read a bank. With `model`, its weights must be the bank's (else an error); without,
        a FeedForward is rebuilt from the saved spec and loaded with the saved weights."""
        from safetensors import safe_open

        path = Path(path)
        if not path.exists():
            raise BiaslearnError(f"bias bank {path}: file not found")
        try:
            with safe_open(str(path), framework="pt") as fh:
                metadata = fh.metadata() or {}
                tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        except Exception as exc:
            raise BiaslearnError(f"bias bank {path}: not a readable safetensors file ({exc}); it may be truncated or corrupt") from None
        if metadata.get("format") != FORMAT:
            raise BiaslearnError(f"bias bank {path}: format {metadata.get('format')!r}, expected {FORMAT!r}")
        if "content" in metadata and metadata["content"] != _content_checksum(metadata, tensors):  # files since 2026-12
            raise BiaslearnError(f"bias bank {path}: contents do not match their checksum; the file is corrupt")
        weights = {k[len("weights/"):]: v for k, v in tensors.items() if k.startswith("weights/")}
        stored = metadata.get("weights", "stored") == "stored"
        try:
            tasks = json.loads(metadata["tasks"])
            parameters = json.loads(metadata["parameters"]) if "parameters" in metadata else None
            # a verified content checksum covers the stored weights; older files check them alone
            if stored and "content" not in metadata and tensors_checksum(weights) != metadata["checksum"]:
                raise BiaslearnError(f"bias bank {path}: stored weights do not match their checksum; the file is corrupt")
        except (KeyError, ValueError) as exc:
            if isinstance(exc, BiaslearnError):
                raise
            raise BiaslearnError(f"bias bank {path}: damaged metadata ({type(exc).__name__}); the file is corrupt") from None
        if model is None:
            if not stored:
                raise BiaslearnError(f"bias bank {path}: saved without its weights; pass the model: BiasBank.load(path, model)")
            model = _rebuild(metadata, path)
            missing = model.load_state_dict(weights, strict=False)
            if missing.unexpected_keys:
                raise BiaslearnError(f"bias bank {path}: weights do not fit the saved spec ({missing.unexpected_keys[:3]})")
        bank = cls(model, parameters)
        if bank.checksum != metadata["checksum"]:
            raise BiaslearnError(
                f"bias bank {path}: made for a network with weights sha256 {metadata['checksum'][:12]}, "
                f"this network has {bank.checksum[:12]}; build the network with the bank's seed and spec"
            )
        expected = set(bank.parameters)
        for task in tasks:
            prefix = f"bank/{task}/"
            entry = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            if set(entry) != expected:
                raise BiaslearnError(f"bias bank {path}: task {task!r} has entries {sorted(entry)}, expected {sorted(expected)}")
            bank.entries[task] = entry
        return bank


def _content_checksum(metadata: dict, tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 of everything a bank file holds but this checksum: metadata and every tensor."""
    fields = json.dumps({k: v for k, v in metadata.items() if k != "content"}, sort_keys=True)
    return hashlib.sha256((fields + tensors_checksum(tensors)).encode()).hexdigest()


def _rebuild(metadata: dict, path: Path) -> nn.Module:
    from biaslearn.models.feedforward import FeedForward, NetworkSpec

    try:
        spec = json.loads(metadata.get("spec") or "null")
    except ValueError:
        raise BiaslearnError(f"bias bank {path}: damaged spec in its metadata; the file is corrupt") from None
    if metadata.get("model") != "FeedForward" or not isinstance(spec, dict):
        raise BiaslearnError(f"bias bank {path}: holds a {metadata.get('model')}; pass the model to BiasBank.load")
    try:
        return FeedForward(NetworkSpec(**spec))
    except TypeError as exc:
        raise BiaslearnError(f"bias bank {path}: its spec does not describe a network ({exc}); the file is corrupt") from None
