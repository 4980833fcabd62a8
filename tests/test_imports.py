"""facekit's import graph: no module imports itself back through others, and each imports alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import facekit

PACKAGE = Path(facekit.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(name: str) -> bool:
    return (PACKAGE.parent / name.replace(".", "/") / "__init__.py").is_file()


def _top_level_imports(path: Path, name: str) -> set[str]:
    """Modules of facekit that ``path`` imports when it is imported (not inside functions or
    ``if TYPE_CHECKING:`` blocks, which do not run at import)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("facekit"))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                if not base.startswith("facekit"):
                    continue
                for alias in node.names:
                    child = f"{base}.{alias.name}"
                    found.add(
                        child
                        if (PACKAGE.parent / (child.replace(".", "/") + ".py")).is_file() or _is_package(child)
                        else base
                    )

    visit(tree.body)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in _top_level_imports(path, name) if m in modules and m != name}
        for name, path in modules.items()
    }


def test_no_import_cycles_between_modules():
    """Packages' ``__init__`` files re-export their modules, so edges into a package are left out:
    a cycle among the modules themselves is what breaks importing one of them alone."""
    graph = {name: {m for m in deps if not _is_package(m)} for name, deps in _graph().items() if not _is_package(name)}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def walk(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                walk(nxt, [*trail, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_every_module_imports_on_its_own():
    """One fresh interpreter per module would take a minute; instead each child process imports
    its share of modules first-thing, in reverse dependency order, which fails where one needs
    another to have been imported before it."""
    names = sorted(n for n in _graph() if not n.endswith("__main__"))
    code = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m == 'facekit' or m.startswith('facekit.')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
