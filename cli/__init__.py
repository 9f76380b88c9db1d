"""The ``memsgd`` command line: analyze, compare, stats, simulate.

Only this part prints. Heavy imports (TensorFlow) happen inside the commands,
so ``memsgd --help`` stays fast.
"""

from memsgd.cli._main import main

__all__ = ["main"]
