"""The package's shape: no import cycles among seqlab's modules, lazy (function-level) imports included."""

import ast
from pathlib import Path
from typing import Dict, List, Set

ROOT = Path(__file__).resolve().parents[1] / "seqlab"


def modules(root: Path = ROOT) -> Dict[str, Path]:
    """Dotted module name -> file, for every module of the package (a package is its __init__.py)."""
    out = {}
    for f in root.rglob("*.py"):
        parts = list(f.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def import_graph(root: Path = ROOT) -> Dict[str, Set[str]]:
    """module -> the package's modules it imports anywhere in its code (top level, functions, branches)."""
    mods = modules(root)
    pkg = root.name

    def resolve(name: str):
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: Dict[str, Set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        base = m.split(".") if f.name == "__init__.py" else m.split(".")[:-1]
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.split(".")[0] == pkg]
            elif isinstance(node, ast.ImportFrom):
                mod = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else node.module or ""
                if mod.split(".")[0] != pkg:
                    continue
                targets = [f"{mod}.{a.name}" for a in node.names] + [mod]
            else:
                continue
            graph[m] |= {r for r in map(resolve, targets) if r and r != m}
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_lazy_imports_included():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_lazy_cycle(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .a import g\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    assert cycles(import_graph(pkg)) == [["pkg.a", "pkg.b"]]


def test_each_list_of_choices_has_one_home():
    """The schema's one_of() lists are the only spelled-out copies: the code maps exactly them, and no other module
    (docs and --help included) writes one of them out again."""
    import keras_tuner  # noqa: F401 - tune.tuner needs it

    from seqlab.config import schema
    from seqlab.inference.export import FORMATS
    from seqlab.train.optim import OPTIMIZERS
    from seqlab.tune.tuner import ORACLES

    assert tuple(OPTIMIZERS) == schema.OPTIMIZERS
    assert tuple(ORACLES) == schema.TUNERS
    lists = {"optimizers": set(schema.OPTIMIZERS), "tuners": set(schema.TUNERS), "schedules": set(schema.LR_SCHEDULES),
             "precisions": set(schema.PRECISIONS), "export formats": set(FORMATS)}
    homes = {"optimizers": "config/schema.py", "tuners": "config/schema.py", "schedules": "config/schema.py",
             "precisions": "config/schema.py", "export formats": "inference/export_serving.py"}
    copies = []
    for path in ROOT.rglob("*.py"):
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
                values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                copies += [f"{rel}:{node.lineno} {name}" for name, items in lists.items()
                           if items <= values and rel != homes[name]]
    assert copies == []


def test_shared_test_settings_live_in_conftest():
    """QUIET (and TINY_SERIES) are defined once, in tests/conftest.py, and imported where used."""
    tests = Path(__file__).resolve().parent
    again = [p.name for p in tests.glob("test_*.py")
             if any(isinstance(n, ast.Assign) and any(getattr(t, "id", None) in ("QUIET", "TINY_SERIES")
                                                      for t in n.targets)
                    for n in ast.parse(p.read_text()).body)]
    assert again == []
