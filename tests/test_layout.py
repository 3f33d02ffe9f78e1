"""Dependencies point one way (STYLE.md): a package never imports the ones that build on it."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "biaslearn"
LEVEL = {  # a module may import biaslearn modules of a lower or equal level only
    "errors": 0, "rng": 1, "atomic": 0, "progress": 0, "memory": 1, "executors": 1, "config": 1,
    "data": 2, "models": 2, "engine": 3, "training": 4, "theory": 4, "results": 4,
    "analysis": 5, "plots": 5, "experiments": 6, "sklearn": 6, "forecaster": 6, "report": 7, "cli": 7, "__init__": 7,
}
FORBIDDEN_PAIRS = {("data", "models"), ("models", "data")}


def _top(module_path: Path) -> str:
    rel = module_path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path):
    """The biaslearn modules `path` imports, by top-level name ("__init__" for the package itself:
    `import biaslearn`, `from biaslearn import rng` names rng)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "biaslearn" and not node.level:
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("biaslearn."):
            yield node.module.split(".")[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "biaslearn":
                    yield "__init__"
                elif alias.name.startswith("biaslearn."):
                    yield alias.name.split(".")[1]


def test_every_package_has_a_level():
    tops = {_top(p) for p in ROOT.rglob("*.py")}
    assert tops <= set(LEVEL), f"add {sorted(tops - set(LEVEL))} to LEVEL"


def test_dependencies_point_one_way():
    problems = []
    for path in ROOT.rglob("*.py"):
        here = _top(path)
        if here == "__init__":
            continue
        for target in _imports(path):
            if target not in LEVEL:
                problems.append(f"{path.relative_to(ROOT)} imports biaslearn.{target}, which has no level")
            elif (here, target) in FORBIDDEN_PAIRS or LEVEL[target] > LEVEL[here]:
                problems.append(f"{path.relative_to(ROOT)} imports biaslearn.{target}")
    assert not problems, problems


def test_the_check_sees_plain_and_from_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import biaslearn\nfrom biaslearn import rng, data\nimport biaslearn.models.feedforward\n")
    assert list(_imports(module)) == ["__init__", "rng", "data", "models"]
