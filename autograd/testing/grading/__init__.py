"""The parts of `autograd.testing.grade`, which checks a learner's own scalar engine.

`forms` lists the operations a learner's class may have and the straight-line programs built
from them; `guard` runs the learner's code with a time limit; `probe` finds which operations a
class has; `compare` runs one program on both engines; `diagnose` names the op first found
wrong; `search` draws programs with hypothesis and shrinks a difference; `report` is what
`grade` returns. Only `search` imports hypothesis.
"""
