import jax
import jax.numpy as jnp
import numpy as np
import pytest

import s5ts


def loop(a, b, x0):
    xs, x = [], x0
    for k in range(a.shape[0]):
        x = a[k] * x + b[k]
        xs.append(x)
    return np.stack(xs)


def _problem(rng, length, state):
    radius = rng.uniform(0.5, 0.999, (length, state))
    a = radius * np.exp(1j * rng.uniform(-np.pi, np.pi, (length, state)))
    b = rng.normal(size=(length, state)) + 1j * rng.normal(size=(length, state))
    x0 = rng.normal(size=state) + 1j * rng.normal(size=state)
    return a, b, x0


@pytest.mark.parametrize("length", [1, 2, 7, 513])
@pytest.mark.parametrize("zero_init", [True, False])
def test_parallel_equals_sequential_equals_loop(x64, length, zero_init):
    a, b, x0 = _problem(np.random.default_rng(length), length, 5)
    if zero_init:
        x0 = np.zeros_like(x0)
    ref = loop(a, b, x0)
    for backend in [s5ts.SequentialScan(), s5ts.SequentialScan(unroll=1), s5ts.AssociativeScan()]:
        got = jax.jit(backend)(jnp.asarray(a), jnp.asarray(b), jnp.asarray(x0))
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)


def test_multi_dimensional_state_and_vmap(x64):
    rng = np.random.default_rng(3)
    a, b, x0 = _problem(rng, 64, 12)
    a, b, x0 = a.reshape(64, 3, 4), b.reshape(64, 3, 4), x0.reshape(3, 4)
    ref = loop(a, b, x0)
    for backend in [s5ts.SequentialScan(), s5ts.AssociativeScan()]:
        np.testing.assert_allclose(
            jax.jit(backend)(jnp.asarray(a), jnp.asarray(b), jnp.asarray(x0)), ref, rtol=1e-10
        )
        batch = jax.jit(jax.vmap(backend))(*(jnp.stack([jnp.asarray(v)] * 3) for v in (a, b, x0)))
        np.testing.assert_allclose(batch, np.stack([ref] * 3), rtol=1e-10)


def test_long_sequence_float32():
    a, b, x0 = _problem(np.random.default_rng(4), 10_000, 4)
    ref = loop(a, b, x0)
    c64 = lambda v: jnp.asarray(v, jnp.complex64)  # noqa: E731
    for backend in [s5ts.SequentialScan(), s5ts.AssociativeScan()]:
        got = np.asarray(jax.jit(backend)(c64(a), c64(b), c64(x0)))
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, ref, atol=2e-3 * np.abs(ref).max())


def test_default_backend_matches_platform():
    expected = s5ts.SequentialScan if jax.default_backend() == "cpu" else s5ts.AssociativeScan
    assert isinstance(s5ts.default_scan(), expected)
