"""The code's layout: no import circles, and data flows one way (`zoo` never imports
`training` or `tuning`). Checked on the source with `ast`, counting every import statement,
those inside functions too (a lazy import hides a circle from Python, not from a reader).
Also: functions in the mechanism stay short, and the pages' links reach their files."""
import ast
import re
from pathlib import Path

from conftest import REPO

PACKAGES = ("zoo", "training", "tuning")


def _module_name(path):
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules():
    return {_module_name(p): p for package in PACKAGES for p in (REPO / package).rglob("*.py")}


def _imported(path, name, known):
    """The project modules `path` imports. `from package import module` names the module,
    and a module's own parent packages are not counted (Python imports them first anyway)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".")[: None if path.name == "__init__.py" else -1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            modules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            found.update(modules)
            if len(modules) < len(node.names):
                found.add(base)
    edges = set()
    for module in found:
        while module and module not in known:
            module = module.rpartition(".")[0]
        if module and module != name and not name.startswith(module + "."):
            edges.add(module)
    return edges


def import_graph():
    modules = _modules()
    return {name: _imported(path, name, modules) for name, path in modules.items()}


def circles(graph):
    """The strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_no_import_circles():
    assert circles(import_graph()) == []


def test_the_circle_finder_finds_one():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_zoo_never_imports_training_or_tuning():
    graph = import_graph()
    wrong = {name: sorted(m for m in imports if m.split(".")[0] in ("training", "tuning"))
             for name, imports in graph.items() if name.split(".")[0] == "zoo"}
    assert {name: found for name, found in wrong.items() if found} == {}


def test_no_function_in_training_or_tuning_is_longer_than_50_lines():
    long = []
    for package in ("training", "tuning"):
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > 50:
                        long.append(f"{path.relative_to(REPO)}:{node.name} ({lines} lines)")
    assert long == []


def _relative_links(page):
    """The targets of `page`'s Markdown links and images that point into the repository."""
    targets = re.findall(r"\]\(([^)\s]+)\)", page.read_text())
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and t.split("#")[0]]


def test_every_link_in_readme_and_docs_reaches_a_file():
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = [f"{page.relative_to(REPO)} -> {target}" for page in pages
              for target in _relative_links(page) if not (page.parent / target).exists()]
    assert broken == []
    cited = {m for package in PACKAGES for path in (REPO / package).rglob("*.py")
             for m in re.findall(r"docs/[\w-]+\.md", path.read_text())}
    assert cited and sorted(c for c in cited if not (REPO / c).exists()) == []


def test_the_link_check_finds_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[a](missing.md#x) ![b](here.png) [c](https://example.org) [d](#top)\n")
    (tmp_path / "here.png").write_bytes(b"")
    assert [t for t in _relative_links(page) if not (tmp_path / t).exists()] == ["missing.md"]
