"""The views and the command line import in one direction only, and the public names stay where
users import them from."""

import ast
import subprocess
import sys
from pathlib import Path

import autograd

PACKAGE = Path(autograd.__file__).parent
VIEWS = ["output", "names", "text", "explanation", "renderers", "layout", "picture", "frames",
         "notebook", "document", "page_data", "page"]
CORE = {"engine", "backward", "ops", "functional", "formula", "custom", "files"}


def imports_of(path):
    """The autograd modules a file imports, as dotted names relative to `autograd`."""
    tree = ast.parse(path.read_text())
    package = path.parent.relative_to(PACKAGE.parent).parts  # e.g. ("autograd", "views")
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[1 : len(package) - node.level + 1]
                if node.module:
                    found.add(".".join(base + tuple(node.module.split("."))))
                else:  # from . import renderers
                    found.update(".".join(base + (a.name,)) for a in node.names)
            elif node.module and node.module.startswith("autograd"):
                found.add(node.module.removeprefix("autograd").strip("."))
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("autograd").strip(".") for a in node.names
                         if a.name.startswith("autograd"))
    return found


def test_each_view_imports_only_the_core_and_the_views_before_it():
    for k, name in enumerate(VIEWS):
        allowed = CORE | {f"views.{v}" for v in VIEWS[:k]}
        used = imports_of(PACKAGE / "views" / f"{name}.py")
        assert used <= allowed, f"views/{name}.py imports {sorted(used - allowed)}"


def test_the_engine_and_its_views_know_nothing_of_training():
    # (the command line, on top of everything, may use nn)
    for path in (p for p in PACKAGE.rglob("*.py") if "cli" not in p.relative_to(PACKAGE).parts):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                assert node.module.split(".")[0] != "nn", f"{path} imports {node.module}"
            elif isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] != "nn" for a in node.names), path
    assert not (PACKAGE / "views" / "training.py").exists()
    assert not any((PACKAGE / "views" / "assets").glob("training.*"))


def test_the_core_imports_no_view_and_no_command_line():
    for name in CORE:
        used = imports_of(PACKAGE / f"{name}.py")
        assert not {u for u in used if u.startswith(("views", "cli"))}, name


def test_the_command_line_sits_on_top():
    for path in (PACKAGE / "cli").glob("*.py"):
        used = imports_of(path)
        assert all(u in CORE or u == "" or u.startswith(("views", "cli")) for u in used), path
    for path in (PACKAGE / "views").glob("*.py"):
        assert not any(u.startswith("cli") for u in imports_of(path)), path


def test_public_names_are_where_they_were():
    from autograd import (  # noqa: F401
        backward_frames,
        draw_dot,
        explain,
        text_tree,
        write_animation,
        write_frames,
    )
    from autograd.cli import main  # noqa: F401 - the `gradwalk` script's entry point
    from autograd.views.notebook import notebook_bundle  # noqa: F401 - Value's notebook hook

    assert callable(explain) and callable(draw_dot)


def test_python_dash_m_autograd_still_runs():
    result = subprocess.run([sys.executable, "-m", "autograd", "x * y", "--at", "x=2", "y=3"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["value = 6", "d/dx = 3", "d/dy = 2"]
