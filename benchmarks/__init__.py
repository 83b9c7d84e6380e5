"""The speed benchmark: the training step as users write it beside PyTorch, hand-written NumPy,
JAX and micrograd; then this engine's scalar graphs against micrograd, its compiled forks and
PyTorch's 0-d tensors.

Run it with `make bench` (or `python benchmarks/run.py --help`). The step table runs its
engines in one process (steps.py, step_table.py). The scalar workloads run each engine in its
own worker process, because micrograd and its look-alikes all install a package named
`micrograd`.
"""
