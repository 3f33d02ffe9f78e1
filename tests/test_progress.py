"""Progress bars (tqdm): resumed units count from the start, not in the rate; metrics shown; a
disabled bar writes nothing; a log (not a terminal) gets no line before the interval."""

import io

from biaslearn import progress
from biaslearn.progress import Progress


def test_bar_counts_resumed_units_and_shows_metrics_and_remaining_time(monkeypatch):
    monkeypatch.setattr(progress, "LOG_INTERVAL_S", 0.0)
    stream = io.StringIO()
    bar = Progress(10, "sweep", stream=stream, initial=3)
    bar.update(1, unit="w64-bias", test_accuracy=0.8123456)
    bar.update(6)
    text = stream.getvalue()
    assert "sweep" in text and "4/10" in text and "10/10" in text and "test_accuracy=0.8123" in text
    assert "<" in text  # elapsed<remaining
    assert bar.done == 10


def test_disabled_or_short_runs_write_nothing():
    quiet = io.StringIO()
    bar = Progress(5, "x", stream=quiet, enabled=False)
    bar.update(5)
    short = io.StringIO()
    Progress(5, "y", stream=short).update(5)  # finished within the log interval
    assert quiet.getvalue() == "" and short.getvalue() == ""
