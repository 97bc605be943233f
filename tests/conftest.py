import atexit
import functools
import os
import shutil
import tempfile

import jax
import pytest


# The command line turns on JAX's persistent compilation cache; keep the suite's out of
# the user's home directory, one per pytest-xdist worker (JAX writes entries without a
# lock, so a worker could read one that another is still writing), and remove it after.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER is not None or "S5TS_CACHE_DIR" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix=f"s5ts-test-cache-{_WORKER or 'main'}-")
    os.environ["S5TS_CACHE_DIR"] = _CACHE
    atexit.register(functools.partial(shutil.rmtree, _CACHE, ignore_errors=True))


def pytest_configure(config):
    # Tiny test models need not beat the baselines; tests that check the warning catch
    # it. Named here, not in pyproject.toml, where resolving it would import s5ts before
    # jaxtyping's import hook is in place.
    config.addinivalue_line("filterwarnings", "ignore::s5ts.BaselineWarning")


# The SSM core's tests run under JAX's strict dtype promotion: an implicit mix of dtypes
# (say float32 with float64 arrays) is an error there, so the layers state every
# promotion they rely on. Tests that train run with the standard rules, which optax's
# own updates need.
_STRICT = {
    "test_layers",
    "test_gradients",
    "test_scan",
    "test_stack",
    "test_discretise",
    "test_init",
}


@pytest.fixture(autouse=True)
def _strict_promotion(request):
    if request.module.__name__.rsplit(".", 1)[-1] in _STRICT:
        with jax.numpy_dtype_promotion("strict"):
            yield
    else:
        yield


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
