"""The parts of `autograd.testing.grade`, which checks a learner's own scalar engine.

`forms` lists the operations a learner's class may have and the straight-line programs built
from them; `guard` runs the learner's code with a time limit; `probe` finds which forms a class
has; `compare` runs one program on both engines; `small` holds the small programs each form is
checked with first; `search` draws random programs with hypothesis and shrinks a difference;
`reduce` makes it smaller still; `diagnose` names the op first found wrong; `report` is what
`grade` returns. Only `search` imports hypothesis.
"""
