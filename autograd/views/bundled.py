"""`use_bundled_graphviz`: every object of the `graphviz` package renders without a system `dot`.

The lecture that builds micrograd draws its graphs with its own `draw_dot`, a plain
`graphviz.Digraph`; without the system Graphviz, `graphviz` finds no `dot` and the picture
fails. The `graphviz` package routes all its rendering (`pipe`, `render`, the notebook display)
through three hooks on two mixin classes that `Digraph`, `Graph` and `Source` share; this module
points those hooks at a dispatcher that asks, at each rendering, whether a system `dot` is on
`PATH`: if it is, the package's own function runs, unchanged; if not, `autograd.views.renderers`
draws the picture (graphviz-pure, installed by the `render` extra), with its time limit.

`GradientGraph` (what `draw_dot` returns) has hooks of its own and is not affected.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

import graphviz.backend.mixins as mixins
import graphviz.backend.piping as piping
import graphviz.backend.rendering as rendering

from . import renderers

_HOOKS = (  # (mixin class, hook name, the package's own function, ours)
    (mixins.Pipe, "_pipe_lines", piping.pipe_lines, renderers.pipe_lines),
    (mixins.Pipe, "_pipe_lines_string", piping.pipe_lines_string, renderers.pipe_lines_string),
    (mixins.Render, "_render", rendering.render, renderers.render_file),
)


def _system_dot_or(own: Callable[..., Any], bundled: Callable[..., Any]) -> property:
    """A hook property whose function picks, at each call, the system `dot` when on PATH."""

    def dispatch(*args: Any, **kwargs: Any) -> Any:
        if shutil.which("dot") is not None:
            return own(*args, **kwargs)
        kwargs.pop("quiet", None)  # the bundled renderers keep their messages in their errors
        return bundled(*args, **kwargs)

    dispatch.bundled_graphviz = True  # type: ignore[attr-defined]
    return property(lambda _self: dispatch)


def _installed(cls: type, name: str) -> bool:
    hook = cls.__dict__.get(name)
    return isinstance(hook, property) and hook.fget is not None and \
        getattr(hook.fget(None), "bundled_graphviz", False)


def use_bundled_graphviz() -> None:
    """Make every `graphviz.Digraph`, `graphviz.Graph` and `graphviz.Source` in this process,
    those your own code builds included, render with this project's renderer when no system
    `dot` is on PATH: `.pipe()`, `.render()` and the notebook display. With a system `dot`,
    nothing changes. Calling it again does nothing more.

    >>> import graphviz
    >>> from autograd import use_bundled_graphviz
    >>> use_bundled_graphviz()
    >>> graphviz.Source("digraph { a -> b }").pipe(format="svg")[:5]
    b'<?xml'
    """
    for cls, name, own, bundled in _HOOKS:
        if not _installed(cls, name):
            setattr(cls, name, _system_dot_or(own, bundled))
