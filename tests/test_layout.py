"""Dependencies point one way (STYLE.md): a package never imports the ones that build on it."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "biaslearn"
LEVEL = {  # a module may import biaslearn modules of a lower or equal level only
    "errors": 0, "rng": 0, "atomic": 0, "progress": 0, "config": 1,
    "data": 2, "models": 2, "engine": 3, "training": 4, "theory": 4, "results": 4,
    "analysis": 5, "plots": 5, "experiments": 6, "cli": 7, "__init__": 7,
}
FORBIDDEN_PAIRS = {("data", "models"), ("models", "data")}


def _top(module_path: Path) -> str:
    rel = module_path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("biaslearn."):
            yield node.module.split(".")[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("biaslearn."):
                    yield alias.name.split(".")[1]


def test_dependencies_point_one_way():
    problems = []
    for path in ROOT.rglob("*.py"):
        here = _top(path)
        if here == "__init__":
            continue
        for target in _imports(path):
            if (here, target) in FORBIDDEN_PAIRS or LEVEL.get(target, 0) > LEVEL.get(here, 7):
                problems.append(f"{path.relative_to(ROOT)} imports biaslearn.{target}")
    assert not problems, problems
