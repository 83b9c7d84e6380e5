"""`python -m autograd` (also installed as `gradwalk`): differentiate an expression at a point,
print the gradients, draw the graph, explain the backward pass, or open a console.

The gradients are printed in the order the variables first appear in the expression, the order
of the tree and the explanation (a variable given with --at but not used comes last).

Exit status: 0 done, 1 the maths or the rendering failed (log(0), an overflow, PDF without
Graphviz), 2 the command line or the expression was refused. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from ..views import (
    backward_frames,
    draw_dot,
    draw_html,
    explain,
    text_tree,
    write_animation,
    write_frames,
)
from ..views.names import variables
from ..views.output import write_file
from ..views.renderers import RenderUnavailable
from .parse import CONSTANTS, FUNCTIONS, ExpressionError, build

PICTURE_FORMATS = ("svg", "png", "pdf", "jpg", "jpeg", "dot", "gv", "html")
EXAMPLES = """examples:
  python -m autograd "tanh(x*w1 + y*w2 + b)" --at x=2 y=0 w1=-3 w2=1 b=6.88 -o neuron.svg
  python -m autograd "tanh(x*w1 + y*w2 + b)" --at x=2 y=0 w1=-3 w2=1 b=6.88 -o neuron.html
  python -m autograd "x**2 * sin(x)" --at x=1.5 --explain --tree
  python -m autograd "sigmoid(a*b)" --at a=1 b=-2 --frames steps/ --animate backward.png
  python -m autograd --repl

The expression may use + - * / ** and unary -, numbers, pi, e, the variables given with --at and
the functions: """ + ", ".join(FUNCTIONS) + """.
It is parsed, never run as Python code.
Exit status: 0 done, 1 a maths or rendering error, 2 a refused command line or expression."""


class Refused(Exception):
    """A bad command line or expression: exit status 2."""


class Failed(Exception):
    """A valid request that could not be done (maths, rendering): exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        raise Refused(f"{message} (see --help)")


def make_parser(prog: str = "gradwalk") -> argparse.ArgumentParser:
    p = _Parser(prog=prog, description="Differentiate an expression with gradwalk's autograd "
                "engine:\nprint its value and gradients, draw its graph, explain backward.",
                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("expression", nargs="?", help='e.g. "tanh(x*w1 + y*w2 + b)" (quote it)')
    # extend: a repeated --at (or --params) adds to the earlier ones, never replaces them
    p.add_argument("--at", nargs="+", action="extend", default=[], metavar="NAME=VALUE",
                   help="the value of each variable, e.g. --at x=2 y=0 (may be repeated)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="draw the graph to FILE; the suffix picks the format: "
                   + ", ".join(PICTURE_FORMATS)
                   + " (html: one interactive page that opens offline, no Graphviz needed)")
    p.add_argument("--explain", action="store_true",
                   help="print the backward pass step by step, with the chain rule in numbers")
    p.add_argument("--tree", action="store_true", help="print the graph as an indented tree")
    p.add_argument("--frames", metavar="DIR", help="write one picture per backward step to DIR")
    p.add_argument("--frames-format", choices=("svg", "png"), default="svg",
                   help="format of the --frames pictures (default svg)")
    p.add_argument("--animate", metavar="FILE.png",
                   help="write the backward steps as one animated PNG")
    p.add_argument("--params", nargs="+", action="extend", default=[], metavar="NAME",
                   help="variables to draw as parameters (weights) rather than inputs")
    p.add_argument("--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR",
                   help="direction of the drawing (default LR: left to right)")
    p.add_argument("--ascii", action="store_true", help="draw --tree with ASCII characters only")
    p.add_argument("--repl", action="store_true",
                   help="open a Python console with the engine imported")
    return p


def parse_at(items: Sequence[str]) -> dict[str, float]:
    """`["x=2", "y=-1.5"]` as `{"x": 2.0, "y": -1.5}`, refusing anything else."""
    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or not name.isascii():
            raise Refused(f"--at {item[:40]!r}: expected NAME=VALUE, e.g. x=2")
        if name in FUNCTIONS or name in CONSTANTS:
            kind = "function" if name in FUNCTIONS else "constant"
            raise Refused(f"--at {name}: {name} is a {kind} name, pick another variable name")
        if name in values:
            raise Refused(f"--at {name}: given twice")
        try:
            value = float(text)
        except ValueError:
            raise Refused(f"--at {name}={text[:40]!r}: not a number") from None
        if not math.isfinite(value):
            raise Refused(f"--at {name}={text}: not a finite number")
        values[name] = value
    return values


def main(argv: Sequence[str] | None = None, prog: str = "gradwalk") -> int:
    """Run the command line; returns the exit status (0, 1 or 2)."""
    try:
        return _run(make_parser(prog), list(sys.argv[1:] if argv is None else argv))
    except Refused as exc:
        return _fail(prog, exc, 2)
    except Failed as exc:
        return _fail(prog, exc, 1)


def _fail(prog: str, exc: Exception, status: int) -> int:
    message = " ".join(str(exc).split())  # one line, whatever the message held
    if len(message) > 300:
        message = message[:300] + "..."
    print(f"{prog}: error: {message}", file=sys.stderr)
    return status


def _run(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    if argv and _looks_like_expression(parser, argv[0]):
        argv[0] = " " + argv[0]  # "-x * y" is an expression, not an option: argparse must see that
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help exits 0 through here
        return int(exc.code or 0)
    if args.repl:
        return repl()
    if args.expression is None:
        raise Refused("give an expression to differentiate, or --repl")
    at = parse_at(args.at)
    _check_outputs(args)
    unknown = [p for p in args.params if p not in at]
    if unknown:
        raise Refused(f"--params {unknown[0]}: not a variable given with --at")
    try:
        out, leaves = build(args.expression, at)
        if not out.label:  # the output's name in the tree, the explanation and the picture
            out.label = next(n for n in ("f", "out", "result") if n not in at)
        out.backward()
    except ExpressionError as exc:
        raise Refused(exc) from None
    except (ArithmeticError, ValueError) as exc:
        raise Failed(exc) from None
    print(f"value = {out.data:.12g}")
    by_leaf = {leaf: name for name, leaf in leaves.items()}
    used = [by_leaf[v] for v in variables(out) if v in by_leaf]
    if out in by_leaf:  # the expression is one variable
        used.insert(0, by_leaf[out])
    for name in used + [n for n in leaves if n not in used]:
        print(f"d/d{name} = {leaves[name].grad:.12g}")
    params = [leaves[p] for p in args.params]
    if args.tree:
        print()
        print(text_tree(out, ascii=args.ascii or not _can_print("└│├"), params=params or None))
    if args.explain:
        print()
        print(explain(out, params=params or None))
    if args.output:
        _write_picture(out, Path(args.output), params, args.rankdir)
    if args.frames or args.animate:
        _write_frames(out, args, params)
    return 0


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse bad output names before any work is done or printed."""
    if args.output is not None:
        suffix = Path(args.output).suffix.lower().lstrip(".")
        if not args.output.strip() or suffix not in PICTURE_FORMATS:
            raise Refused(f"-o {args.output!r}: unknown picture format "
                          f"(use one of: {', '.join('.' + f for f in PICTURE_FORMATS)})")
    if args.animate is not None and Path(args.animate).suffix.lower() != ".png":
        raise Refused(f"--animate {args.animate!r}: the animation is an animated PNG: name it .png")


def _looks_like_expression(parser: argparse.ArgumentParser, arg: str) -> bool:
    if not arg.startswith("-"):
        return False
    options = [s for action in parser._actions for s in action.option_strings]
    if arg.split("=")[0] in options or arg in ("-", "--"):
        return False
    return not (arg.startswith("-o") and len(arg) > 2 and "." in arg)  # -oFILE.svg


def _can_print(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _write_picture(out, path: Path, params: list, rankdir: str) -> None:  # noqa: ANN001
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in PICTURE_FORMATS:
        raise Refused(f"-o {path}: unknown picture format {path.suffix!r} "
                      f"(use one of: {', '.join('.' + f for f in PICTURE_FORMATS)})")
    if fmt == "html":
        try:
            page = draw_html(out, params=params or None, rankdir=rankdir)
        except ValueError as exc:  # too big to show
            raise Refused(exc) from None
        try:
            page.write(path)
        except OSError as exc:
            raise Failed(exc) from None
        print(f"wrote {path}")
        return
    try:
        graph = draw_dot(out, params=params, rankdir=rankdir, legend=True)
    except ValueError as exc:  # too big to draw
        raise Refused(exc) from None
    try:
        data = graph.source.encode() if fmt in ("dot", "gv") else graph.pipe(format=fmt)
        write_file(path, data)
    except (RenderUnavailable, RuntimeError, ValueError, OSError) as exc:
        raise Failed(exc) from None
    print(f"wrote {path}")


def _write_frames(out, args: argparse.Namespace, params: list) -> None:  # noqa: ANN001
    try:
        frames = backward_frames(out, params=params, rankdir=args.rankdir)
    except ValueError as exc:  # too big to draw
        raise Refused(exc) from None
    try:
        if args.frames:
            paths = write_frames(frames, args.frames, args.frames_format)
            print(f"wrote {len(paths)} frames to {args.frames}")
        if args.animate:
            write_animation(frames, args.animate)
            print(f"wrote {args.animate}")
    except (RenderUnavailable, RuntimeError, ValueError, OSError) as exc:
        raise Failed(exc) from None


BANNER = """gradwalk console: Value, grad, value_and_grad, no_grad, draw_dot, text_tree, explain,
backward_frames{nn} are imported. Try:
  x = Value(2.0, label="x"); y = (x * x).tanh(); y.label = "y"; y.backward()
  print(text_tree(y)); print(explain(y))
  draw_dot(y).render(outfile="y.svg")
  grad(lambda x: x ** 3)(2.0)
TAB completes names and attributes; Ctrl-D (Ctrl-Z Enter on Windows) leaves."""


def repl() -> int:
    """An interactive console with the engine imported, completing with TAB."""
    import autograd

    from .console import interact

    names: dict[str, object] = {
        "autograd": autograd, "Value": autograd.Value, "grad": autograd.grad,
        "value_and_grad": autograd.value_and_grad, "no_grad": autograd.no_grad,
        "draw_dot": autograd.draw_dot, "text_tree": text_tree, "explain": explain,
        "backward_frames": backward_frames, "math": math, **CONSTANTS,
    }
    extra = ""
    try:
        import nn

        names.update(nn=nn, MLP=nn.MLP, Neuron=nn.Neuron, Layer=nn.Layer)
        extra = ", nn, MLP"
    except ImportError:
        pass
    interact(names, BANNER.format(nn=extra))
    return 0
