"""The `biaslearn` command: run, report, list, plot. Argument parsing and dispatch only."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import time
from pathlib import Path

from biaslearn.config import parse_overrides
from biaslearn.errors import BiaslearnError
from biaslearn.experiments import DEFAULT, EXPERIMENTS, get_experiment


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit status 2, no usage dump
        raise BiaslearnError(f"{message} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="biaslearn", description="Networks with frozen random weights and learned biases.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = sub.add_parser("run", help=f"run an experiment (default: {DEFAULT})")
    run.add_argument("experiment", nargs="?", default=DEFAULT, help="experiment name (see `biaslearn list`)")
    run.add_argument("--quick", action="store_true", help="small scale: seconds to a few minutes")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config field (repeatable); lists are comma-separated")
    run.add_argument("--out", help="run folder (default runs/<experiment>[-quick])")
    run.add_argument("--data-dir", help="folder with user datasets (mnist/, kmnist/, emnist-*/); or $BIASLEARN_DATA_DIR")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--executor", default="local", choices=("local", "ray"),
                     help="where units run: one after another here (local) or as Ray tasks (ray)")
    run.add_argument("--address", help="with --executor ray: a running cluster ('auto' or host:port); default a local Ray")
    run.add_argument("--quiet", action="store_true", help="no progress bar, errors only (the summary is still printed)")
    run.add_argument("--verbose", action="store_true", help="also log the engine's choices and other details (INFO)")
    report = sub.add_parser("report", help="one self-contained HTML page with every experiment's claim, table and figures")
    report.add_argument("--quick", action="store_true", help="use (or make) the --quick runs")
    report.add_argument("--only", default="", help="comma-separated experiments (default: all)")
    report.add_argument("--runs", default="runs", help="folder holding the run folders (default: runs)")
    report.add_argument("--out", help="the HTML file (default: <runs>/report[-quick].html)")
    report.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub.add_parser("list", help="list experiments")
    plot = sub.add_parser("plot", help="redraw the figures of a run folder")
    plot.add_argument("folder")
    return parser


def _format_summary(name: str, summary: dict) -> str:
    module = get_experiment(name)
    if hasattr(module, "format_summary"):
        return module.format_summary(summary)
    return json.dumps(summary, indent=2, default=float)


def _log_to_stderr(level: int) -> None:
    logging.basicConfig(level=level, format="%(name)s: %(message)s", stream=sys.stderr)


def _check_out(out: str) -> None:
    """--out names a writable folder, or one to create inside an existing writable folder."""
    path = Path(out)
    folder, role = (path, "") if path.exists() else (path.parent, "its parent folder ")
    if not folder.exists():
        raise BiaslearnError(f"--out {out}: {role}{folder} does not exist; create it first (mkdir -p {folder}) or pick another folder")
    if not folder.is_dir():
        raise BiaslearnError(f"--out {out}: {role}{folder} is not a folder; pick another --out")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BiaslearnError(f"--out {out}: {role}{folder} is not writable; pick a folder you can write to")


def _cmd_run(args) -> int:
    from biaslearn.experiments.runner import run_experiment

    if args.quiet and args.verbose:
        raise BiaslearnError("--quiet and --verbose: pick one")
    _log_to_stderr(logging.ERROR if args.quiet else logging.INFO if args.verbose else logging.WARNING)
    if args.out:
        _check_out(args.out)
    if args.data_dir:
        if not Path(args.data_dir).is_dir():
            raise BiaslearnError(f"--data-dir: {args.data_dir} is not a folder")
        os.environ["BIASLEARN_DATA_DIR"] = args.data_dir
    overrides = parse_overrides(args.overrides)
    get_experiment(args.experiment)
    start = time.perf_counter()
    from biaslearn.executors import make_executor

    executor = make_executor(args.executor, args.address)
    folder, summary, complete = run_experiment(
        args.experiment, quick=args.quick, overrides=overrides, out=args.out, show_progress=not (args.no_progress or args.quiet),
        executor=executor,
    )
    print(_format_summary(args.experiment, summary))
    state = "already complete, nothing recomputed" if complete else f"finished in {time.perf_counter() - start:.1f} s"
    print(f"{args.experiment}: {state}; results in {folder.path}")
    return 0


def _cmd_report(args) -> int:
    from biaslearn.report import build

    _log_to_stderr(logging.WARNING)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(EXPERIMENTS)
    runs = Path(args.runs)
    out = Path(args.out) if args.out else runs / f"report{'-quick' if args.quick else ''}.html"
    if not out.parent.is_dir() and args.out:
        raise BiaslearnError(f"--out {args.out}: the folder {out.parent} does not exist; create it first or pick another")
    start = time.perf_counter()
    made = build(names, quick=args.quick, runs=runs, out=out, show_progress=not args.no_progress)
    ran = [n for n, how in made["experiments"].items() if how == "ran"]
    print(f"report: {made['path']} ({made['bytes'] / 2**20:.1f} MiB, {len(names)} experiments; ran {', '.join(ran) or 'none'}; "
          f"{time.perf_counter() - start:.1f} s)")
    return 0


def _cmd_list() -> int:
    for name in sorted(EXPERIMENTS):
        module = get_experiment(name)
        print(f"{name:18s} {module.DESCRIPTION}")
    return 0


def _cmd_plot(args) -> int:
    folder = Path(args.folder)
    config = folder / "config.json"
    if not config.exists():
        raise BiaslearnError(f"plot: {folder} has no config.json; expected a run folder made by `biaslearn run`")
    name = json.loads(config.read_text())["experiment"]
    module_name = EXPERIMENTS[name].rsplit(".", 1)[1]
    plots = importlib.import_module(f"biaslearn.plots.{module_name}")
    for path in plots.plot(folder):
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "report":
            return _cmd_report(args)
        if args.command == "list":
            return _cmd_list()
        if args.command == "plot":
            return _cmd_plot(args)
        _parser().print_help()
        return 0
    except BiaslearnError as exc:
        print(f"biaslearn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("biaslearn: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
