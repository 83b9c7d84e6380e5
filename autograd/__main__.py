"""`python -m autograd`: the command line (see `autograd.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m autograd"))
