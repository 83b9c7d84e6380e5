"""The speed benchmark: this engine against micrograd, its compiled forks and PyTorch.

Run it with `make bench` (or `python benchmarks/run.py --help`). Each engine runs in its own
worker process because micrograd and its look-alikes all install a package named `micrograd`.
"""
