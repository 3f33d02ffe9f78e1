"""`biaslearn report`: every experiment in one self-contained HTML page: its claim, table, figures,
settings, wall time and the commit. Experiments whose run folder is complete are read as they
are (with the config they were run with); incomplete ones are resumed, missing ones run first (at
--quick scale with --quick).

The page needs no network and no other file: figures are embedded as PNG data, styles are
inline, and a few lines of script only mark on <body> how many figures loaded (for checks in a
headless browser)."""

from __future__ import annotations

import base64
import datetime
import html
import json
import platform
from pathlib import Path

from biaslearn import atomic
from biaslearn.errors import BiaslearnError
from biaslearn.experiments import EXPERIMENTS, get_experiment
from biaslearn.experiments.runner import default_folder, run_experiment, saved_config
from biaslearn.results import versions

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
.meta { color: #555; font-size: 0.9em; } pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; } details { margin: 0.5em 0; }
nav a { margin-right: 0.8em; } .missing { color: #a00; }
"""

CHECK = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var loaded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute("data-images", loaded + "/" + images.length);
});
"""


def _claim(module) -> str:
    """The experiment's description and the first paragraph of its module docstring."""
    doc = (module.__doc__ or "").strip().split("\n\n")[0]
    return f"<p><b>{html.escape(module.DESCRIPTION)}</b></p><p>{html.escape(' '.join(doc.split()))}</p>"


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(path.name)}</figcaption></figure>'


def _section(name: str, folder: Path, summary: dict) -> str:
    module = get_experiment(name)
    config = json.loads((folder / "config.json").read_text())
    timing = folder / "timing.json"
    seconds = json.loads(timing.read_text())["seconds"] if timing.exists() else None
    table = module.format_summary(summary) if hasattr(module, "format_summary") else json.dumps(summary, indent=1, default=float)
    commit = config.get("versions", {}).get("git_commit", "")[:10] or "unknown"
    scale = "quick" if config.get("quick") else "full"
    meta = (f"run folder <code>{html.escape(str(folder))}</code>, {scale} scale, commit {html.escape(commit)}, "
            + (f"wall time {seconds:,.1f} s" if seconds is not None else "wall time not recorded"))
    figures = "".join(_figure(p) for p in sorted(folder.glob("*.png")))
    settings = html.escape(json.dumps(config.get("config", {}), indent=1))
    return (f'<section id="{html.escape(name)}"><h2>{html.escape(name)}</h2>{_claim(module)}<p class="meta">{meta}</p>'
            f"<pre>{html.escape(table)}</pre>{figures or '<p>(no figures)</p>'}"
            f"<details><summary>settings</summary><pre>{settings}</pre></details></section>")


def build(names, *, quick: bool, runs: Path, out: Path, show_progress: bool = False) -> dict:
    """Run (or read) each experiment of `names` under `runs` and write the report to `out`.
    Returns {"path", "experiments": {name: "read" | "ran"}, "bytes"}."""
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise BiaslearnError(f"report: unknown experiment(s) {', '.join(unknown)}; valid: {', '.join(EXPERIMENTS)}")
    sections, how = [], {}
    for name in names:
        folder = runs / default_folder(name, quick).name
        saved = saved_config(name, folder)  # an existing run is reported (or resumed) with its own config
        run_folder, summary, complete = run_experiment(name, quick=saved[0] if saved else quick, out=folder,
                                                       config=saved[1] if saved else None, show_progress=show_progress)
        how[name] = "read" if complete else "ran"
        sections.append(_section(name, run_folder.path, summary))
    v = versions()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    nav = "".join(f'<a href="#{html.escape(n)}">{html.escape(n)}</a>' for n in names)
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>biaslearn report</title>"
            f"<style>{STYLE}</style><script>{CHECK}</script></head><body><h1>biaslearn report</h1>"
            f"<p class=\"meta\">{stamp}; commit {html.escape(v.get('git_commit', '') or 'unknown')}; "
            f"biaslearn {html.escape(v['biaslearn'])}, torch {html.escape(v['torch'])}, {html.escape(platform.platform())}; "
            f"{'quick' if quick else 'full'} scale</p><nav>{nav}</nav>{''.join(sections)}</body></html>")
    atomic.write_text(out, page)
    return {"path": str(out), "experiments": how, "bytes": out.stat().st_size}
