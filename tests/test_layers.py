"""The layers of the package point one way: each imports only from itself and the layers below
it (lazy imports inside functions count too). From the bottom:

- the core: `Value` and its op table, the backward walks, the transforms, users' own ops, the
  fixed point, copies, storage, files;
- what reads a recorded graph: the tape (`replay/`), the sympy bridge, the views;
- `testing`, on all of those; then the command line, on everything (and `nn`);
- `nn`, on the public engine (a module of `autograd` it may name is listed below);
- the package's `__init__`, which only names what the layers define.
"""

import ast
from pathlib import Path

import pytest

import autograd

PACKAGE = Path(autograd.__file__).parent
ROOT = PACKAGE.parent
CORE = {"engine", "ops", "backward", "clock", "formula", "functional", "custom", "fixedpoint",
        "graphcopy", "files", "storage"}
READERS = {"replay", "sympy_bridge", "views"}
LAYERS = [CORE, READERS, {"testing"}, {"cli", "__main__"}]  # "__main__": `python -m autograd`
# what nn may import from autograd: the package and the public modules it documents
NN_MAY_USE = {"autograd", "autograd.engine", "autograd.ops", "autograd.storage",
              "autograd.files", "autograd.views.document", "autograd.views.page"}


def _top(module: str) -> str:
    """The first part of a module name below `autograd` ("replay" for "replay.batch")."""
    return module.split(".")[0]


def imports_of(path: Path) -> set[str]:
    """The modules a file imports: below `autograd` as names relative to it (no leading
    `autograd.`), others as written."""
    tree = ast.parse(path.read_text())
    parts = path.parent.relative_to(ROOT).parts
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(parts[: len(parts) - node.level + 1])
                names = [node.module] if node.module else [a.name for a in node.names]
                found.update(".".join([*base, n]) for n in names)
            elif node.module:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _layer(name: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if name in layer)


FILES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(PACKAGE)) for p in FILES])
def test_each_module_imports_only_its_layer_and_those_below(path):
    own = _top(str(path.relative_to(PACKAGE).with_suffix("")).replace("/", "."))
    level = _layer(own)
    for module in imports_of(path):
        if module.startswith("nn"):
            assert own in ("cli",), f"{path.name} imports {module}: the engine knows no nn"
        if not module.startswith("autograd."):
            continue
        below = _top(module.removeprefix("autograd."))
        if below == "__init__" or module == "autograd":
            continue
        # the core's modules use each other; a reader, testing and the command line build
        # on what is below them (and the command line on anything)
        allowed = _layer(below) < level or below == own or level in (0, len(LAYERS) - 1)
        assert allowed, \
            f"{path.relative_to(PACKAGE)} imports {module}, a layer it sits below or beside"


def test_nn_uses_only_the_public_engine():
    for path in (ROOT / "nn").rglob("*.py"):
        used = {m for m in imports_of(path) if m == "autograd" or m.startswith("autograd.")}
        assert used <= NN_MAY_USE, f"nn/{path.name} imports {sorted(used - NN_MAY_USE)}"


def test_the_core_needs_no_optional_dependency_to_import():
    # (an optional one may be imported inside a function that uses it: NumPy for arrays)
    optional = ("graphviz", "sympy", "hypothesis", "torch", "numpy", "nn")
    for path in PACKAGE.glob("*.py"):
        if path.stem not in CORE:
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:  # the module's own statements, not functions' bodies
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert not name.startswith(optional), f"{path.name} imports {name}"
