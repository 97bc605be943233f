import numpy as np
import pytest

import s5ts


@pytest.mark.parametrize("n", [2, 8, 31, 64])
def test_hippo_normal_structure(n):
    S = s5ts.hippo_normal(n)
    np.testing.assert_allclose(S + S.T, -np.eye(n), atol=1e-12)
    # The raw HiPPO-LegS spectrum is -1, -2, ..., -n.
    A = s5ts.hippo_legs(n)
    np.testing.assert_allclose(np.sort(np.linalg.eigvals(A).real), -np.arange(n, 0, -1), rtol=1e-6)


@pytest.mark.parametrize("n", [2, 8, 64])
def test_hippo_n_diagonalisation(n):
    Lam, V = s5ts.hippo_n(n)
    S = s5ts.hippo_normal(n)
    np.testing.assert_allclose(V.conj().T @ V, np.eye(n), atol=1e-10)
    np.testing.assert_allclose(V @ np.diag(Lam) @ V.conj().T, S, atol=1e-10)
    np.testing.assert_allclose(Lam.real, -0.5)
    half = Lam[: n // 2]
    assert np.all(half.imag < 0)
    # Conjugate pairs: the second half mirrors the first.
    np.testing.assert_allclose(np.sort(-half.imag), np.sort(Lam[n // 2 :].imag), rtol=1e-10)


def test_hippo_n_known_values():
    Lam, _ = s5ts.hippo_n(8)
    np.testing.assert_allclose(
        np.sort(np.abs(Lam.imag))[::2], [0.4275, 1.958, 5.354, 19.86], rtol=1e-3
    )
    Lam2, _ = s5ts.hippo_n(2)
    np.testing.assert_allclose(np.sort(Lam2.imag), [-np.sqrt(3) / 2, np.sqrt(3) / 2])


def test_blocks_tile_identical_spectra_and_unitary_v():
    Lam, V = s5ts.s5_init(32, blocks=4, conj_sym=True)
    assert Lam.shape == (16,) and V.shape == (32, 16)
    np.testing.assert_allclose(Lam.reshape(4, 4), np.tile(Lam[:4], (4, 1)))
    np.testing.assert_allclose(V.conj().T @ V, np.eye(16), atol=1e-10)
    Lam_full, V_full = s5ts.s5_init(32, blocks=4, conj_sym=False)
    assert Lam_full.shape == (32,) and V_full.shape == (32, 32)


def test_spectra_of_s5_s4d_legs_and_dss_agree():
    modes = 16
    s5, _ = s5ts.s5_init(2 * modes, blocks=1, conj_sym=True)
    legs = s5ts.s4d_init("legs", modes)
    dss = s5ts.skew_hippo(modes)  # computed with a general eigensolver, independently
    key = lambda z: np.sort(np.abs(z.imag))  # noqa: E731  (equal up to conjugation)
    np.testing.assert_allclose(key(s5), key(legs), rtol=1e-9)
    np.testing.assert_allclose(key(s5), key(dss), rtol=1e-8)
    np.testing.assert_allclose(dss.real, -0.5)


def test_s4d_closed_form_inits():
    n = np.arange(4)
    np.testing.assert_allclose(s5ts.s4d_init("lin", 4), -0.5 - 1j * np.pi * n)
    np.testing.assert_allclose(
        s5ts.s4d_init("inv", 4), -0.5 - 1j * (8 / np.pi) * (8 / (2 * n + 1) - 1)
    )
    np.testing.assert_allclose(s5ts.s4d_init("real", 4), -(n + 1.0))
    with pytest.raises(ValueError, match="init must be one of"):
        s5ts.s4d_init("nope", 4)


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="divisible by blocks"):
        s5ts.s5_init(10, blocks=3, conj_sym=True)
    with pytest.raises(ValueError, match="odd block"):
        s5ts.s5_init(6, blocks=2, conj_sym=True)


def test_layer_shapes_follow_conj_sym(getkey):
    layer = s5ts.S5Layer(5, 16, blocks=2, key=getkey())
    assert layer.B_re.shape == (8, 5) and layer.C_re.shape == (5, 8) and layer.state_shape == (8,)
    full = s5ts.S5Layer(5, 16, blocks=2, conj_sym=False, key=getkey())
    assert full.B_re.shape == (16, 5) and full.state_shape == (16,)
    bi = s5ts.Bidirectional(layer, s5ts.S5Layer(5, 16, blocks=2, key=getkey()))
    assert bi.hidden_size == 5 and bi.init_state().shape == layer.state_shape
    with pytest.raises(ValueError, match="same hidden_size"):
        s5ts.Bidirectional(layer, s5ts.S5Layer(6, 16, key=getkey()))
    dt = np.exp(np.asarray(layer.log_step))
    assert dt.min() >= 1e-3 - 1e-9 and dt.max() <= 1e-1 + 1e-9
