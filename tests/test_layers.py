"""The package's layers: core → runtime → data → train → apps, each importing only from those before
it (imports inside functions included), no import cycle between modules, and no module over 400
lines. What a predict-only install runs (core, runtime, the predict command) imports no torch; the
data layer (readers, splits, the token store, tasks' rows) needs numpy only, anywhere in it."""

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "tinysent"
LAYERS = ["core", "runtime", "data", "train", "apps"]
# what each layer may import from outside the standard library and tinysent at module level
HEAVY = ("torch", "transformers", "accelerate", "safetensors", "sklearn", "scipy", "matplotlib")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported tinysent module, line, at module level?) for every import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    top = {id(n) for n in tree.body}
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("tinysent")
        ):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                target = (
                    sub
                    if (SRC / Path(*sub.split("."))).exists()
                    or (SRC / Path(*sub.split("."))).with_suffix(".py").exists()
                    else node.module
                )
                found.append((target, node.lineno, id(node) in top))
        elif isinstance(node, ast.Import):
            found += [
                (a.name, node.lineno, id(node) in top) for a in node.names if a.name.startswith("tinysent")
            ]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append(("<relative>", node.lineno, id(node) in top))
    return found


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_each_layer_imports_only_from_the_layers_before_it():
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        me = layer_of(module_name(path))
        if me is None:
            continue  # tinysent/__init__.py: load() combines the layers for users
        for target, line, _ in imports(path):
            if target == "<relative>":
                bad.append(f"{path.relative_to(SRC)}:{line} uses a relative import")
                continue
            other = layer_of(target)
            if other is not None and other > me:
                bad.append(
                    f"{path.relative_to(SRC)}:{line} ({LAYERS[me]}) imports {target} ({LAYERS[other]})"
                )
    assert bad == []


def defines_code(path: Path) -> bool:
    """Whether a module holds more than a docstring, imports and ``__all__``: an ``__init__`` that
    defines functions or classes is a module like any other in the cycle check."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"]:
            continue
        return True
    return False


def import_graph() -> tuple[dict[str, set[str]], set[str]]:
    """(module -> the tinysent modules it imports, the packages whose ``__init__`` only re-exports)."""
    graph: dict[str, set[str]] = {}
    reexporting = set()
    for path in PKG.rglob("*.py"):
        me = module_name(path)
        graph.setdefault(me, set()).update(t for t, _, _ in imports(path) if t != me and t != "<relative>")
        if path.name == "__init__.py" and not defines_code(path):
            reexporting.add(me)
    return graph, reexporting


def test_no_import_cycle_between_modules():
    graph, reexporting = import_graph()

    # a package's __init__ that only re-exports its own modules is not a cycle with them; one that
    # defines code is a module like the others
    def parent(a, b):
        return (a in reexporting and b.startswith(a + ".")) or (b in reexporting and a.startswith(b + "."))

    seen, stack, cycles = set(), [], []

    def visit(m):
        if m in stack:
            cyc = stack[stack.index(m) :] + [m]
            if not any(parent(x, y) for x, y in zip(cyc, cyc[1:])):
                cycles.append(" -> ".join(cyc))
            return
        if m in seen:
            return
        seen.add(m)
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            visit(n)
        stack.pop()

    for m in sorted(graph):
        visit(m)
    assert cycles == []


def test_the_checks_see_what_they_look_for(tmp_path):
    init = tmp_path / "__init__.py"
    init.write_text('"""doc"""\n\nfrom tinysent.core.meta import ModelMeta\n\n__all__ = ["ModelMeta"]\n')
    assert not defines_code(init)
    init.write_text("from tinysent.core.meta import ModelMeta\n\n\ndef load():\n    return ModelMeta()\n")
    assert defines_code(init)
    f = tmp_path / "x.py"
    f.write_text("from tinysent.train.export import export\n\ndef f():\n    from tinysent.apps import cli\n")
    found = imports(f)
    assert ("tinysent.train.export", 1, True) in found and ("tinysent.apps.cli", 4, False) in found
    assert layer_of("tinysent.train.export") == 3 and layer_of("tinysent.core.labels") == 0
    assert layer_of("tinysent.data.labelled") == 2 and heavy_imports(f) == []
    f.write_text("def f():\n    import torch.nn\n    from scipy import stats\n")
    assert heavy_imports(f) == ["torch.nn", "scipy"]


def heavy_imports(path: Path) -> list[str]:
    """Every import of the training stack in the file, inside functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in HEAVY]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in HEAVY:
            found.append(node.module)
    return found


def test_the_data_layer_never_imports_the_training_stack():
    bad = {str(p.relative_to(SRC)): h for p in (PKG / "data").rglob("*.py") if (h := heavy_imports(p))}
    assert bad == {}


def test_there_is_no_build_package():
    """`build` read as a build-output folder to people and tools; the layers say what each part needs."""
    assert not (PKG / "build").exists()


def test_no_module_is_over_400_lines():
    long = {
        str(p.relative_to(SRC)): n for p in PKG.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


def test_core_and_runtime_never_import_the_training_stack_at_module_level():
    bad = []
    for layer in ("core", "runtime"):
        for path in (PKG / layer).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in tree.body:
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                bad += [f"{path.name}: {n}" for n in names if n.split(".")[0] in HEAVY]
    assert bad == []


def test_predict_imports_neither_torch_nor_transformers():
    code = (
        "import sys, io, contextlib\n"
        "from tinysent.apps.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['predict', 'so happy today']) == 0\n"
        "heavy = ('torch', 'transformers', 'sklearn', 'scipy', 'matplotlib')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "assert heavy == [], heavy\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
