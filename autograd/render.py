"""Kept so that older imports (`from autograd.render import draw_dot`) and the engine's notebook
hook keep working: the views now live in `autograd.views`."""

from .views import (  # noqa: F401
    DEFAULT_MAX_NODES,
    GradientGraph,
    RenderUnavailable,
    backward_frames,
    draw_dot,
    explain,
    notebook_bundle,
    render_source,
    text_tree,
    write_animation,
    write_frames,
)
