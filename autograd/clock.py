"""One clock for the order in which things happen to nodes.

Recording a node takes the next tick, so creation order is a topological order (operands exist
before their result). Writing a node's `.data` also takes a tick: a write later than a
consumer's tick means that consumer's recorded local derivatives belong to the old value.
"""

from __future__ import annotations

import itertools

tick = itertools.count().__next__  # atomic under the GIL

last_write = -1
"""The tick of the latest `.data` write anywhere; a graph whose nodes are all younger needs no
further check (the common case: parameters are updated between forward passes)."""

def note_write() -> int:
    """Take a tick for a `.data` write and remember it as the latest. No lock: writes from
    several threads while another thread backpropagates are not promised to be seen, and the
    optimizers write every parameter at every step."""
    global last_write
    t = tick()
    if t > last_write:
        last_write = t
    return t
