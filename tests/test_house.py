"""The house's rules (issue 19): no import cycle among xlgpt's modules, no module over 450 lines, and the
stage registry names every per-position stage the oracle computes."""

import ast
from pathlib import Path

import xlgpt

ROOT = Path(xlgpt.__file__).parent


def _modules() -> dict:
    """module name -> (file, the package its relative imports start from)"""
    out = {}
    for p in ROOT.rglob("*.py"):
        name = ".".join(p.relative_to(ROOT.parent).with_suffix("").parts)
        if p.name == "__init__.py":
            name = name[:-len(".__init__")]
        out[name] = (p, name if p.name == "__init__.py" else name.rsplit(".", 1)[0])
    return out


def _imports(mods: dict) -> dict:
    graph = {}
    for name, (path, pkg) in mods.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):  # lazy imports inside functions count too
            if isinstance(node, ast.ImportFrom):
                base = pkg.split(".")[:len(pkg.split(".")) - (node.level - 1)] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                for a in node.names:
                    deps.add(f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def test_no_import_cycle():
    graph = _imports(_modules())
    state, cycles = {}, []

    def visit(v, path):
        state[v] = "open"
        for w in sorted(graph[v]):
            if state.get(w) == "open":
                cycles.append(path[path.index(w):] + [w])
            elif w not in state:
                visit(w, path + [w])
        state[v] = "done"

    for v in sorted(graph):
        if v not in state:
            visit(v, [v])
    assert not cycles, cycles


def test_no_module_over_450_lines():
    long = {p.relative_to(ROOT.parent).as_posix(): n for p, _ in _modules().values()
            if (n := len(p.read_text().splitlines())) > 450}
    assert not long, long


def test_the_registry_names_what_the_oracle_computes():
    from xlgpt.model import checkpoint, oracle
    from xlgpt.workbook.stages import position_results
    ckpt = checkpoint.load("random:tiny", seed=0)
    ref = oracle.forward(ckpt.params, ckpt.config, [15496, 995])
    tabs = [tab for tab, _ in position_results(ckpt.config, 4)]
    assert len(tabs) == len(set(tabs)) and set(tabs) <= set(ref)
    positional = {k for k, v in ref.items() if getattr(v, "ndim", 0) == 2 and v.shape[0] == 2 and k != "logits"}
    assert positional <= set(tabs), positional - set(tabs)
