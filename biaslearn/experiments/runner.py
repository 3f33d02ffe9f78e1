"""Run a named experiment into a run folder: resolve its config (defaults, --quick, --set),
refuse to mix configs in one folder, record versions, skip if complete (every unit's result still
as recorded), resume otherwise."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from biaslearn import config as config_io
from biaslearn.errors import BiaslearnError
from biaslearn.experiments import get_experiment
from biaslearn.results import RunFolder, versions


def resolve_config(name: str, *, quick: bool = False, overrides: dict[str, str] | None = None):
    module = get_experiment(name)
    config = module.Config()
    if quick:
        config = dataclasses.replace(config, **module.QUICK)
    if overrides:
        config = config_io.with_overrides(config, overrides)
    return module, config


def default_folder(name: str, quick: bool) -> Path:
    return Path("runs") / (f"{name}-quick" if quick else name)


def _has_results(folder: RunFolder) -> bool:
    """Whether anything was computed in the folder (a config.json alone is not a result)."""
    units = folder.path / "units"
    return folder.file("summary.json").exists() or (units.is_dir() and any(units.iterdir()))


def run_experiment(
    name: str,
    *,
    quick: bool = False,
    overrides: dict[str, str] | None = None,
    out: str | Path | None = None,
    show_progress: bool = True,
    config=None,
    executor=None,
) -> tuple[RunFolder, dict, bool]:
    """Returns (folder, summary, was_already_complete). `config` (a resolved Config) replaces the
    defaults, --quick and overrides; `executor` runs the units (biaslearn.executors)."""
    module, resolved = resolve_config(name, quick=quick, overrides=overrides)
    config = resolved if config is None else config
    folder = RunFolder(out or default_folder(name, quick), show_progress=show_progress, executor=executor)
    record = {"experiment": name, "quick": quick, "config": config_io.to_dict(config)}
    if folder.file("config.json").exists():
        saved = folder.read_json("config.json")
        if {k: saved.get(k) for k in record} != record and _has_results(folder):
            raise BiaslearnError(
                f"run folder {folder.path} holds a run of another config; pass --out to a new folder or delete it"
            )
        if folder.file("summary.json").exists():
            recorded = folder.read_json("units.json") if folder.file("units.json").exists() else None
            if not folder.damaged_units(recorded):
                return folder, folder.read_json("summary.json"), True
            folder.file("summary.json").unlink()  # recomputed below from the units that are still good
    folder.write_json("config.json", {**record, "versions": versions()})
    start = time.perf_counter()
    summary = module.run(config, folder)
    folder.write_json("timing.json", {"seconds": time.perf_counter() - start,
                                      "note": "wall time of the last (possibly resumed) call that completed the run"})
    folder.write_json("units.json", folder.unit_results())
    folder.write_json("summary.json", summary)
    return folder, summary, False


def saved_config(name: str, folder: Path):
    """(quick, Config) of the run saved in `folder`, or None if it holds no run of `name`."""
    path = Path(folder) / "config.json"
    if not path.exists():
        return None
    saved = RunFolder(folder, show_progress=False).read_json("config.json")
    if saved.get("experiment") != name:
        raise BiaslearnError(f"run folder {folder} holds a run of {saved.get('experiment')!r}, not {name!r}")
    return bool(saved.get("quick")), config_io.from_dict(get_experiment(name).Config, saved["config"], where=str(path))
