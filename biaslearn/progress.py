"""Progress of a long run on stderr, drawn by tqdm: a bar with rate and ETA on a terminal; in a
log or CI (not a terminal) one line at most every 30 s, the first after 30 s (a short run prints none). Units finished before a resume count as
done from the start and not in the rate, so the ETA is that of the work left."""

from __future__ import annotations

import sys

from tqdm import tqdm

LOG_INTERVAL_S = 30.0  # between lines when stderr is not a terminal


class Progress:
    def __init__(self, total: int, label: str = "", *, stream=None, enabled: bool = True, initial: int = 0):
        """`initial` units are done already (found on resume): they count, but not in the rate."""
        stream = stream or sys.stderr
        tty = hasattr(stream, "isatty") and stream.isatty()
        self.total = max(1, total)
        self.bar = tqdm(total=self.total, initial=initial, desc=label, file=stream, disable=not enabled, dynamic_ncols=tty,
                        mininterval=0.1 if tty else LOG_INTERVAL_S, delay=1.0 if tty else LOG_INTERVAL_S, ascii=not tty,
                        leave=True, unit="unit")

    @property
    def done(self) -> int:
        return self.bar.n

    def update(self, n: int = 1, **metrics) -> None:
        """`n` more units done; metrics shown beside the bar."""
        if metrics:
            self.bar.set_postfix({k: f"{v:.4g}" if isinstance(v, float) else v for k, v in metrics.items()}, refresh=False)
        if n:
            self.bar.update(n)
        if self.bar.n >= self.total:
            self.bar.close()
