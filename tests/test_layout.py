"""The plan the folders draw holds in the code: imports run one way (cli -> learn, serve -> read), no two
modules import each other in a circle, and reading never imports torch (docs/development.md)."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src" / "digits"
# what each part may import of digits, besides itself and the top-level modules (errors, atomic, the API)
MAY_IMPORT = {"read": set(), "learn": {"read"}, "serve": {"read"}, "cli": {"read", "learn", "serve"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in SOURCE.rglob("*.py")}
MODULE_FILES = set(MODULES)


def imports(path: Path) -> set[str]:
    """Every module this file imports, at its top or inside a function, resolved to its full name."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            # `from . import reading` imports the module cli.reading; `from .. import __version__`, the package
            found |= {f"{target}.{a.name}" if f"{target}.{a.name}" in MODULE_FILES else target for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


GRAPH = {name: {m for m in imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def part(module: str) -> str | None:
    """read, learn, serve or cli; None for the top-level modules."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in MAY_IMPORT else None


def test_imports_run_one_way():
    upward = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if part(module) and part(target) and part(target) not in {part(module)} | MAY_IMPORT[part(module)]
    ]
    assert upward == []


def test_no_module_imports_itself_through_others():
    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for target in GRAPH[start] - seen:
            seen.add(target)
            if target == goal or reaches(target, goal, seen):
                return True
        return False

    circles = [module for module in GRAPH if reaches(module, module, set())]
    assert circles == []


def test_reading_and_serving_never_import_torch():
    for module, path in MODULES.items():
        if part(module) in ("read", "serve"):
            heavy = {m for m in imports(path) if m.split(".")[0] in ("torch", "torchvision", "matplotlib")}
            assert not heavy, f"{module} imports {heavy}"


def test_the_top_level_holds_a_handful_of_modules_and_each_package_says_what_it_holds():
    top = [p.name for p in SOURCE.glob("*.py")]
    assert len(top) <= 8, top
    folders = {p.name for p in SOURCE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert not {Path(name).stem for name in top} & folders  # no module and folder of one name
    for name in MAY_IMPORT:
        docstring = ast.get_docstring(ast.parse((SOURCE / name / "__init__.py").read_text(encoding="utf-8")))
        assert docstring and docstring.count(". ") == 0 and docstring.endswith("."), name  # one sentence
