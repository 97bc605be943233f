"""Independent float64 numpy references for the layers, rebuilt from their raw parameters."""

import numpy as np

import s5ts


def rule_numpy(rule, lam, delta):
    """The discretisation formulas written out again in numpy (naive forms, float64)."""
    z = lam * delta
    if isinstance(rule, s5ts.ZOH):
        with np.errstate(invalid="ignore", divide="ignore"):
            gain = np.where(z == 0, delta + 0 * z, np.expm1(z) / np.where(lam == 0, 1, lam))
        return np.exp(z), gain
    if isinstance(rule, s5ts.Bilinear):
        return (1 + z / 2) / (1 - z / 2), delta / (1 - z / 2) + 0j
    if isinstance(rule, s5ts.Impulse):
        return np.exp(z), np.ones_like(z)
    raise TypeError(rule)


def _np(x):
    return np.asarray(x, dtype=np.float64)


def system(layer):
    """`(Lambda, Delta, B, C, D, factor)` with Lambda/Delta broadcast to the state shape.

    `B` maps `u (H,)` to the state, `C` maps the state to `y (H,)`, as callables.
    """
    if isinstance(layer, s5ts.S5Layer):
        lam = -np.exp(_np(layer.Lambda_log_neg_re)) + 1j * _np(layer.Lambda_im)
        if layer.clip_eigs:
            lam = np.minimum(lam.real, -1e-4) + 1j * lam.imag
        delta = np.exp(_np(layer.log_step))
        B = _np(layer.B_re) + 1j * _np(layer.B_im)
        n = lam.shape[0]
        C = (_np(layer.C_re) + 1j * _np(layer.C_im))[:, :n]
        factor = 2.0 if layer.conj_sym else 1.0
        return lam, delta, (lambda u: B @ u), (lambda x: factor * np.real(C @ x)), _np(layer.D)
    if isinstance(layer, s5ts.S4DLayer):
        lam = -np.exp(_np(layer.Lambda_log_neg_re)) + 1j * _np(layer.Lambda_im)
        delta = np.exp(_np(layer.log_step))[:, None] * np.ones(lam.shape)
        B = _np(layer.B_re) + 1j * _np(layer.B_im)
        C = _np(layer.C_re) + 1j * _np(layer.C_im)
        return (
            lam,
            delta,
            (lambda u: B * u[:, None]),
            (lambda x: 2 * np.real((C * x).sum(-1))),
            _np(layer.D),
        )
    if isinstance(layer, s5ts.DSSLayer):
        lam_n = -np.exp(_np(layer.Lambda_log_neg_re)) + 1j * _np(layer.Lambda_im)
        delta = np.exp(_np(layer.log_step))[:, None] * np.ones((1, lam_n.shape[0]))
        lam = lam_n[None, :] * np.ones_like(delta)
        W = _np(layer.W_re) + 1j * _np(layer.W_im)
        if isinstance(layer.variant, s5ts.ssm.DSSSoftmax):
            W = W / np.expm1(lam * delta * layer.variant.length)
        return (
            lam,
            delta,
            (lambda u: u[:, None] + 0j * lam),
            (lambda x: np.real((W * x).sum(-1))),
            _np(layer.D),
        )
    raise TypeError(layer)


def run_loop(layer, u, dt, x0=None):
    """Plain Python loop over events: `x_k = Λ̄_k x_{k-1} + γ̄_k B u_k`, `y_k = C x_k + D u_k`."""
    lam, delta, B, C, D = system(layer)
    u, dt = _np(u), _np(dt)
    x = np.zeros(lam.shape, complex) if x0 is None else np.asarray(x0, complex)
    ys = []
    for k in range(u.shape[0]):
        lam_bar, gain = rule_numpy(layer.discretisation, lam, delta * dt[k])
        x = lam_bar * x + gain * B(u[k])
        ys.append(C(x) + D * u[k])
    return np.stack(ys), x
