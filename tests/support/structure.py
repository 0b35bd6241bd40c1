"""A small checker of a package's shape, read from its source with `ast` (nothing is imported).

tests/project/test_structure.py runs it over gitops_bot with the project's rules, and over tiny synthetic
packages to show that each rule can fail. Every import counts, wherever it is written: at the top,
inside a function (lazy imports for start-up time) or under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Import:
    target: str  # the module imported, absolute ("gitops_bot.git.runner", "subprocess")
    line: int


@dataclass(frozen=True)
class Module:
    name: str  # dotted
    path: Path
    lines: int
    imports: tuple[Import, ...]
    environ: tuple[int, ...]  # lines that read os.environ / os.getenv

    @property
    def package(self) -> str:
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Rules:
    """What a package must respect.

    `layers`: sub-packages lowest first; a module may import its own layer or a lower one.
    `edges`: modules of the package that sit outside the layers, with the layer they count as.
    `libraries`: a third-party or stdlib top-level module -> the only sub-package that may import it.
    `environ`: modules allowed to read os.environ / os.getenv (the edge), with the reason.
    `allowed`: (importer, imported) module pairs exempt from the layer order, with the reason.
    """

    package: str
    layers: Sequence[str]
    edges: Mapping[str, str] = field(default_factory=dict)
    libraries: Mapping[str, str] = field(default_factory=dict)
    max_lines: int = 400
    environ: Mapping[str, str] = field(default_factory=dict)
    allowed: Mapping[tuple[str, str], str] = field(default_factory=dict)


def _name(root: Path, path: Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


_ENVIRON = ("environ", "getenv", "environb")


def _reads_environ(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr in _ENVIRON and isinstance(node.value, ast.Name) and node.value.id == "os"
    if isinstance(node, ast.ImportFrom):
        return node.module == "os" and not node.level and any(a.name in _ENVIRON for a in node.names)
    return False


def _environ_lines(tree: ast.AST) -> Iterator[int]:
    return (node.lineno for node in ast.walk(tree) if _reads_environ(node))  # type: ignore[attr-defined]


def scan(root: Path, package: str) -> dict[str, Module]:
    """Every module under `root` (the package's directory), named as `package.sub.module`."""
    names = {_name(root, p, package): p for p in root.rglob("*.py")}
    modules = {}
    for name, path in names.items():
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, str(path))
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imports = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imports += [Import(a.name, node.lineno) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - node.level + 1]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                for alias in node.names:  # `from pkg import module` imports that module
                    sub = f"{source}.{alias.name}"
                    imports.append(Import(sub if sub in names else source, node.lineno))
        modules[name] = Module(name, path, len(text.splitlines()), tuple(dict.fromkeys(imports)),
                              tuple(_environ_lines(tree)))
    return modules


def _top(name: str) -> str:
    return name.split(".")[0]


def _layer(rules: Rules, module: str) -> int | None:
    if module in rules.edges:
        return _layer(rules, f"{rules.package}.{rules.edges[module]}")
    parts = module.split(".")
    if parts[0] != rules.package or len(parts) < 2:
        return None
    return rules.layers.index(parts[1]) if parts[1] in rules.layers else None


def cycles(modules: Mapping[str, Module]) -> list[list[str]]:
    """Strongly connected groups of more than one module (and modules that import themselves)."""
    graph = {m: sorted({i.target for i in mod.imports if i.target in modules}) for m, mod in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan; the package is small enough for recursion
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph[v]:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def problems(modules: Mapping[str, Module], rules: Rules) -> list[str]:
    """Every rule broken, one line each (`module:line: what`); empty when the package is in shape."""
    out = [f"import cycle: {' <-> '.join(group)}" for group in cycles(modules)]
    for name, mod in sorted(modules.items()):
        mine = _layer(rules, name)
        for imp in mod.imports:
            theirs = _layer(rules, imp.target)
            if (mine is not None and theirs is not None and theirs > mine
                    and (name, imp.target) not in rules.allowed):
                out.append(f"{name}:{imp.line}: imports {imp.target}, a higher layer "
                           f"({rules.layers[theirs]} above {rules.layers[mine]})")
            owner = rules.libraries.get(_top(imp.target))
            if owner is not None and not (name + ".").startswith(f"{rules.package}.{owner}."):
                out.append(f"{name}:{imp.line}: imports {_top(imp.target)}, allowed only in "
                           f"{rules.package}/{owner}/")
        if mod.lines > rules.max_lines:
            out.append(f"{name}: {mod.lines} lines (at most {rules.max_lines})")
        if mod.environ and name not in rules.environ:
            out += [f"{name}:{line}: reads os.environ (only the edge does; pass the value down)"
                    for line in mod.environ]
    return out
