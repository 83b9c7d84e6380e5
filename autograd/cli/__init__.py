"""The command line, `python -m autograd` (also installed as `gradwalk`): `command` runs it,
`parse` reads the expression safely. It sits on top of the engine and the views."""

from .command import main, make_parser

__all__ = ["main", "make_parser"]
