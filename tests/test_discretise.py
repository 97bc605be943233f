import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import expm

import s5ts


RULES = [s5ts.ZOH(), s5ts.Bilinear(), s5ts.Impulse()]


def _random_spectrum(rng, n):
    return -rng.uniform(0.01, 3.0, n) + 1j * rng.uniform(-10, 10, n)


def test_zoh_equals_matrix_exponential_of_augmented_system(x64):
    rng = np.random.default_rng(0)
    lam = _random_spectrum(rng, 6)
    b = rng.normal(size=6) + 1j * rng.normal(size=6)
    for delta in [1e-4, 0.3, 2.0, 40.0]:
        lam_bar, gamma = s5ts.ZOH()(jnp.asarray(lam), jnp.asarray(delta))
        for i in range(6):
            M = expm(np.array([[lam[i], b[i]], [0, 0]]) * delta)
            np.testing.assert_allclose(lam_bar[i], M[0, 0], rtol=1e-10)
            np.testing.assert_allclose(gamma[i] * b[i], M[0, 1], rtol=1e-9, atol=1e-14)


def test_zoh_in_eigenbasis_equals_dense_expm(x64):
    # Discretising Λ then mapping back through V equals expm of the dense A = V Λ V⁻¹.
    Lam, V = s5ts.s5_init(8, blocks=1, conj_sym=False)
    A = V @ np.diag(Lam) @ V.conj().T
    lam_bar, _ = s5ts.ZOH()(jnp.asarray(Lam), jnp.asarray(0.37))
    np.testing.assert_allclose(
        V @ np.diag(np.asarray(lam_bar)) @ V.conj().T, expm(A * 0.37), atol=1e-10
    )


def test_bilinear_formula_and_stability(x64):
    rng = np.random.default_rng(1)
    lam = _random_spectrum(rng, 200)
    delta = rng.uniform(0, 100, 200)
    lam_bar, gamma = s5ts.Bilinear()(jnp.asarray(lam), jnp.asarray(delta))
    np.testing.assert_allclose(lam_bar, (1 + delta * lam / 2) / (1 - delta * lam / 2), rtol=1e-12)
    np.testing.assert_allclose(gamma, delta / (1 - delta * lam / 2), rtol=1e-12)
    for rule in RULES:
        assert np.all(np.abs(rule(jnp.asarray(lam), jnp.asarray(delta))[0]) < 1)


def test_zoh_and_bilinear_agree_to_third_order(x64):
    lam = jnp.asarray(-0.7 + 2.0j)
    errs = []
    for delta in [1e-2, 5e-3]:
        errs.append(abs(s5ts.ZOH()(lam, delta)[0] - s5ts.Bilinear()(lam, delta)[0]))
    assert 7.0 < errs[0] / errs[1] < 9.0  # halving Δ divides the gap by 2³


@pytest.mark.parametrize("mag", [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.5, 3.0])
@pytest.mark.parametrize("angle", [0.0, 0.7, np.pi / 2, 2.5, np.pi])
def test_zoh_gain_float32_matches_float64(mag, angle):
    z = -mag * np.exp(1j * angle)  # stable side, every direction
    lam, delta = z / 1e-3, 1e-3
    with jax.enable_x64(True):
        ref = np.asarray(s5ts.ZOH()(jnp.asarray(lam, jnp.complex128), jnp.asarray(delta))[1])
    # Also against the series Δ(1 + λΔ/2 + (λΔ)²/6), independent of the code.
    if mag < 1e-3:
        np.testing.assert_allclose(ref, delta * (1 + z / 2 + z**2 / 6), rtol=1e-12)
    got = np.asarray(s5ts.ZOH()(jnp.asarray(lam, jnp.complex64), jnp.float32(delta))[1])
    np.testing.assert_allclose(got, ref, rtol=1e-4)


def test_limits(x64):
    lam = jnp.asarray([-0.5 + 3j, -2.0 + 0j])
    lam_bar, gamma = s5ts.ZOH()(lam, 0.0)
    np.testing.assert_allclose(lam_bar, 1.0)
    np.testing.assert_allclose(gamma, 0.0)  # an event after a zero gap is ignored under ZOH
    lam_bar, gamma = s5ts.ZOH()(lam, 1e4)
    np.testing.assert_allclose(lam_bar, 0.0, atol=1e-300)
    np.testing.assert_allclose(gamma, -1 / lam, rtol=1e-12)  # the DC gain
    lam_bar, gamma = s5ts.Impulse()(lam, 0.0)
    np.testing.assert_allclose(gamma, 1.0)


def test_zoh_gradient_is_finite_at_zero_gap():
    g = jax.grad(lambda d: jnp.real(s5ts.ZOH()(jnp.asarray(-0.5 + 1j), d)[1]))(0.0)
    assert np.isfinite(g) and abs(g - 1.0) < 1e-6
