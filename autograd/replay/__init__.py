"""Record a function once, replay it fast: `tape`.

The layers, each reading only the ones above it:
- `arguments`: numbers in nested lists split into floats (traced) and a key (ints: static);
- `record`: fn run on Values, its graph kept as a `program.Program` (numbers and op-table
  entries, no Values);
- `interpret`: the reference replay, one node at a time, raising the engine's own errors;
- `pysource`: the program as straight-line Python, bit-identical to `backward()`;
- `batch`: the program over a whole batch at once, with NumPy where it is installed;
- `tape`: the public `tape(fn, *example_args)`.
"""

from .record import TapeError
from .tape import Tape, tape

__all__ = ["Tape", "TapeError", "tape"]
