"""The layout of DESIGN.md holds: packages by capability, dependencies one way, no circle.

Every import counts, at module level or inside a function (an import inside a function
hides a circle, it does not remove it); only those under `if TYPE_CHECKING:` do not run.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The composition root: wires the packages, so it may import them all.
WIRING = {"bando", "bando.__main__", "bando.demo"}
# The packages in the order they build on one another (each may use those before it).
ORDER = [
    "bando.core",
    "bando.accounts",
    "bando.calls",
    "bando.applications",
    "bando.evaluation",
    "bando.ranking",
    "bando.budget",
    "bando.allocation",
    "bando.transparency",
    "bando.reports",
    "bando.payments",
    "bando.finance",
    "bando.public",
    "bando.admin",
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def runtime_imports(path: Path) -> set[str]:
    """The modules a file imports when it runs (absolute names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found.add(base)
            # `from bando.core import audit` imports the module bando.core.audit
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def graph(top: str) -> dict[str, set[str]]:
    """Module → the modules it imports. Importing a submodule initialises its parent
    packages too, but that is Python's doing, not a dependency: those edges are left out
    (a package's __init__ imports its submodules only to wire them, in init_app)."""
    modules = {module_name(p): p for p in (ROOT / top).rglob("*.py") if "migrations" not in p.parts}

    def ancestor(of: str, candidate: str) -> bool:
        return of.startswith(candidate + ".")

    return {
        name: {
            m for m in runtime_imports(path) if m in modules and m != name and not ancestor(name, m)
        }
        for name, path in modules.items()
    }


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_walker_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_modules_of_bando():
    assert find_cycle(graph("bando")) is None


def test_no_import_cycle_between_packages_and_each_uses_only_those_before_it():
    edges: dict[str, set[str]] = {}
    for module, imported in graph("bando").items():
        if module in WIRING:
            continue
        source = package_of(module)
        edges.setdefault(source, set()).update(
            package_of(m) for m in imported if package_of(m) != source
        )
    assert find_cycle(edges) is None
    for source, targets in edges.items():
        assert source in ORDER, f"{source}: a package the layout does not list"
        later = [t for t in targets if t in ORDER and ORDER.index(t) > ORDER.index(source)]
        assert not later, f"{source} imports {later}, which build on it"
        assert not (targets & WIRING), f"{source} imports the wiring {targets & WIRING}"


@pytest.mark.parametrize("pure", ["workflows", "scoring"])
def test_the_pure_packages_import_no_flask_no_database_no_bando(pure):
    for path in (ROOT / pure).rglob("*.py"):
        for name in runtime_imports(path):
            top = name.split(".")[0]
            assert top not in {"bando", "flask", "flask_sqlalchemy", "sqlalchemy"}, (
                f"{path.relative_to(ROOT)} imports {name}"
            )
