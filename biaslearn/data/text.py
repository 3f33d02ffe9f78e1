"""Text classification data that installs offline: the Debian `fortunes` package's cookie files
(/usr/share/games/fortunes/<category>), one class per category. Cookies are separated by lines
holding a single '%'; duplicates (within and across categories) are dropped, cookies longer than
`max_chars` are left out. Split into train / validation / test by a named random stream."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from biaslearn import rng
from biaslearn.errors import BiaslearnError

FORTUNES_DIR = Path("/usr/share/games/fortunes")


@dataclass(frozen=True)
class TextSplits:
    classes: tuple[str, ...]
    train: tuple[list[str], torch.Tensor]
    validation: tuple[list[str], torch.Tensor]
    test: tuple[list[str], torch.Tensor]


def read_cookies(path: Path, max_chars: int) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    cookies = [" ".join(c.split()) for c in text.split("\n%\n")]
    return [c for c in cookies if c and c != "%" and len(c) <= max_chars]


def fortunes(categories, *, validation: float = 0.1, test: float = 0.2, max_chars: int = 400, limit: int | None = None,
             root: Path = FORTUNES_DIR) -> TextSplits:
    """The cookies of `categories` as a classification task (label = index in `categories`);
    `limit` keeps at most that many per category (drawn by the split stream)."""
    if not root.is_dir():
        raise BiaslearnError(f"fortunes: {root} not found; install the Debian package: apt-get install fortunes")
    if len(set(categories)) < 2:
        raise BiaslearnError(f"fortunes: expected at least 2 distinct categories, got {categories}")
    texts, labels, seen = [], [], set()
    for label, name in enumerate(categories):
        path = root / name
        if not path.is_file():
            known = sorted(p.name for p in root.iterdir() if p.is_file() and "." not in p.name)
            raise BiaslearnError(f"fortunes: no category {name!r}; valid: {', '.join(known)}")
        cookies = [c for c in dict.fromkeys(read_cookies(path, max_chars)) if c not in seen]
        seen.update(cookies)
        if limit is not None:
            order = torch.randperm(len(cookies), generator=rng.generator(0, f"fortunes/limit/{name}")).tolist()
            cookies = [cookies[i] for i in order[:limit]]
        texts += cookies
        labels += [label] * len(cookies)
    order = torch.randperm(len(texts), generator=rng.generator(0, "fortunes/split")).tolist()
    n_test, n_val = int(round(test * len(texts))), int(round(validation * len(texts)))
    parts = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    y = torch.tensor(labels, dtype=torch.int64)
    test_part, val_part, train_part = ([texts[i] for i in p] for p in parts)
    return TextSplits(tuple(categories), (train_part, y[parts[2]]), (val_part, y[parts[1]]), (test_part, y[parts[0]]))
