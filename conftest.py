"""Collection settings for `pytest --doctest-modules autograd nn tests` (see the Makefile).

PyTorch is optional: without it, the examples in the modules that need it are not collected
(their tests skip the same way, with `pytest.importorskip`).
"""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("torch") else ["nn/torch_bridge.py"]
