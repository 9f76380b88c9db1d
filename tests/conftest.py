"""Shared test settings: quiet TensorFlow, deterministic ops, seeded RNGs."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("PYTHONHASHSEED", "0")

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded generator; tests that need another seed make their own."""
    return np.random.default_rng(12345)
