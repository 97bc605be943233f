import os
import tempfile

import jax
import pytest


# The command line turns on JAX's persistent compilation cache; keep the suite's out of
# the user's home directory.
os.environ.setdefault("S5TS_CACHE_DIR", tempfile.mkdtemp(prefix="s5ts-test-cache-"))


@pytest.fixture
def x64():
    """Run a test in float64, for the tight numerical comparisons."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def getkey():
    """A fresh, deterministic PRNG key on each call."""
    keys = iter(jax.random.split(jax.random.key(1234), 1000))
    return lambda: next(keys)
