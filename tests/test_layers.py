import zlib

import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest
from _reference import run_loop, system

import s5ts


H, P, L = 3, 8, 23
RULES = {"zoh": s5ts.ZOH(), "bilinear": s5ts.Bilinear(), "impulse": s5ts.Impulse()}
LAYERS = {
    "s5": lambda key, **kw: s5ts.S5Layer(H, P, blocks=2, key=key, **kw),
    "s5-full": lambda key, **kw: s5ts.S5Layer(H, P, conj_sym=False, key=key, **kw),
    "s5-clip": lambda key, **kw: s5ts.S5Layer(H, P, clip_eigs=True, key=key, **kw),
    "s4d-legs": lambda key, **kw: s5ts.S4DLayer(H, P, init="legs", key=key, **kw),
    "s4d-inv": lambda key, **kw: s5ts.S4DLayer(H, P, init="inv", key=key, **kw),
    "s4d-lin": lambda key, **kw: s5ts.S4DLayer(H, P, init="lin", key=key, **kw),
    "s4d-real": lambda key, **kw: s5ts.S4DLayer(H, P, init="real", key=key, **kw),
    "dss-exp": lambda key, **kw: s5ts.DSSLayer(H, P, key=key, **kw),
    "dss-softmax": lambda key, **kw: s5ts.DSSLayer(
        H, P, variant="softmax", length=L, key=key, **kw
    ),
}
SISO = ["s4d-legs", "s4d-inv", "s4d-lin", "s4d-real", "dss-exp", "dss-softmax"]
# Every layer under ZOH, every rule on one MIMO and one SISO layer: each code path once.
CASES = [(n, "zoh") for n in LAYERS] + [
    (n, r) for n in ["s5", "s4d-legs", "dss-softmax"] for r in ["bilinear", "impulse"]
]


def _make(name, rule="zoh", scan=None, dt_min=0.05, dt_max=0.5):
    # Δ a bit larger than the S5 default so that the state dynamics are visible over L events.
    return LAYERS[name](
        jax.random.key(zlib.crc32(name.encode()) % 1000),  # hash() varies per process
        discretisation=RULES[rule],
        scan=scan,
        dt_min=dt_min,
        dt_max=dt_max,
    )


@eqx.filter_jit
def _apply(layer, u, dt):
    return layer(u, dt) if u.ndim == 2 else jax.vmap(layer)(u, dt)


def _data(seed=0, length=L):
    rng = np.random.default_rng(seed)
    u = jnp.asarray(rng.normal(size=(length, H)))
    dt = jnp.asarray(rng.exponential(1.0, length))
    return u, dt


@eqx.filter_jit
def _stepped(layer, u, dt):
    state = layer.init_state(dt.shape[1:])
    return jax.lax.scan(lambda s, e: layer.step(s, *e), state, (u, dt))


@pytest.mark.parametrize("name, rule", CASES)
def test_call_and_step_match_plain_loop(x64, name, rule):
    layer = _make(name, rule)
    u, dt = _data()
    ref, ref_state = run_loop(layer, u, dt)
    scans = [s5ts.SequentialScan()] + ([s5ts.AssociativeScan()] if rule == "zoh" else [])
    for scan in scans:
        layer = eqx.tree_at(lambda m: m.scan_backend, layer, scan)
        np.testing.assert_allclose(_apply(layer, u, dt), ref, rtol=1e-9, atol=1e-10)

    final, ys = _stepped(layer, u, dt)
    np.testing.assert_allclose(ys, ref, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(final, ref_state, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", ["s5", "s4d-legs", "dss-exp"])
def test_scan_resumes_from_state_and_jump_is_step_without_input(x64, name):
    layer = _make(name)
    u, dt = _data(1)
    scan = eqx.filter_jit(lambda m, *a: m.scan(*a))
    full, _ = scan(layer, u, dt)
    head, state = scan(layer, u[:10], dt[:10])
    tail, _ = scan(layer, u[10:], dt[10:], state)
    np.testing.assert_allclose(jnp.concatenate([head, tail]), full, rtol=1e-10, atol=1e-12)
    both = eqx.filter_jit(lambda m, s: (m.jump(s, 2.5), m.step(s, jnp.zeros(H), 2.5)[0]))
    for rule in RULES.values():
        jumped, stepped = both(eqx.tree_at(lambda m: m.discretisation, layer, rule), state)
        np.testing.assert_allclose(jumped, stepped, rtol=1e-12)


def test_conj_sym_output_equals_full_complex_system(x64):
    layer = _make("s5")
    u, dt = _data(2)
    lam, delta, _, _, _ = system(layer)
    B = np.asarray(layer.B_re) + 1j * np.asarray(layer.B_im)
    C = np.asarray(layer.C_re) + 1j * np.asarray(layer.C_im)
    lam_f, delta_f = np.concatenate([lam, lam.conj()]), np.concatenate([delta, delta])
    B_f, C_f = np.concatenate([B, B.conj()]), np.concatenate([C, C.conj()], axis=1)
    x, ys = np.zeros(2 * lam.shape[0], complex), []
    for k in range(L):
        z = lam_f * delta_f * float(dt[k])
        x = np.exp(z) * x + np.expm1(z) / lam_f * (B_f @ np.asarray(u[k]))
        ys.append(C_f @ x)
    ys = np.stack(ys)
    np.testing.assert_allclose(ys.imag, 0, atol=1e-10)
    np.testing.assert_allclose(
        layer(u, dt), ys.real + np.asarray(layer.D) * np.asarray(u), rtol=1e-9
    )


# Not DSS-softmax: its output gains are normalised by e^{λΔ·length}, which depends on Δ.
@pytest.mark.parametrize("name", ["s5", "s4d-inv", "dss-exp"])
def test_scaling_gaps_equals_scaling_delta(x64, name):
    layer = _make(name)
    u, dt = _data(3)
    c = 3.7
    scaled = eqx.tree_at(lambda m: m.log_step, layer, layer.log_step + np.log(c))
    np.testing.assert_allclose(layer(u, c * dt), scaled(u, dt), rtol=1e-9, atol=1e-12)


def test_equal_gaps_equal_the_regular_path(x64):
    # S5 with every gap c: one precomputed (Λ̄, B̄) applied at every step.
    layer = _make("s5")
    u, _ = _data(4)
    c = 0.8
    lam, delta, B, C, D = system(layer)
    lam_bar = np.exp(lam * delta * c)
    B_bar = (lam_bar - 1) / lam
    x, ys = np.zeros_like(lam), []
    for k in range(L):
        x = lam_bar * x + B_bar * B(np.asarray(u[k]))
        ys.append(C(x) + D * np.asarray(u[k]))
    np.testing.assert_allclose(layer(u, jnp.full(L, c)), np.stack(ys), rtol=1e-9)


@pytest.mark.parametrize(
    "name, rule", [(n, "zoh") for n in SISO] + [("s4d-lin", "bilinear"), ("dss-exp", "impulse")]
)
def test_kernel_path_equals_recurrence(x64, name, rule):
    layer = _make(name, rule)
    u, _ = _data(5)
    for c in [1.0, 0.3]:
        conv = eqx.filter_jit(lambda m, u, c: m.convolve(u, c))(layer, u, c)
        np.testing.assert_allclose(conv, _apply(layer, u, jnp.full(L, c)), rtol=1e-8, atol=1e-10)


def test_circular_fft_without_padding_fails(x64):
    # Negative control: an FFT of length L wraps the kernel's tail onto early outputs.
    layer = _make("s4d-lin", dt_min=0.01, dt_max=0.02)
    u, _ = _data(6)
    K = layer.kernel(L)
    circular = jnp.fft.irfft(jnp.fft.rfft(K, L, axis=0) * jnp.fft.rfft(u, L, axis=0), L, axis=0)
    wrong = circular + layer.D * u
    assert np.max(np.abs(wrong - layer(u, jnp.ones(L)))) > 1e-3


@pytest.mark.parametrize("name", ["s5", "s4d-legs", "dss-exp"])
def test_splitting_a_gap_with_held_input_is_exact_for_zoh_only(x64, name):
    u, dt = _data(7)
    k, frac = 11, 0.3
    # Insert a duplicate of event k part-way through the gap that precedes it.
    u_split = jnp.concatenate([u[:k], u[k : k + 1], u[k:]])
    dt_split = jnp.concatenate(
        [dt[:k], dt[k : k + 1] * frac, dt[k : k + 1] * (1 - frac), dt[k + 1 :]]
    )
    keep = np.r_[np.arange(k), np.arange(k + 1, L + 1)]
    zoh = _make(name, "zoh")
    np.testing.assert_allclose(zoh(u_split, dt_split)[keep], zoh(u, dt), rtol=1e-9, atol=1e-12)
    bilinear = _make(name, "bilinear", dt_min=0.5, dt_max=1.0)
    assert np.max(np.abs(bilinear(u_split, dt_split)[keep] - bilinear(u, dt))) > 1e-5


@pytest.mark.parametrize(
    "name, rule",
    [
        ("s5", "zoh"),
        ("s5", "bilinear"),
        ("s5", "impulse"),
        ("s4d-real", "zoh"),
        ("dss-softmax", "impulse"),
    ],
)
def test_padding_events_leave_real_outputs_unchanged(x64, name, rule):
    layer = _make(name, rule)
    u, dt = _data(8)
    where = np.array([0, 5, 5, 12, L, L, L])  # before, inside (twice) and after the sequence
    u_pad = jnp.asarray(np.insert(np.asarray(u), where, 0.0, axis=0))
    dt_pad = jnp.asarray(np.insert(np.asarray(dt), where, 0.0))
    real = np.ones(L + len(where), bool)
    real[where + np.arange(len(where))] = False
    np.testing.assert_allclose(
        _apply(layer, u_pad, dt_pad)[real], _apply(layer, u, dt), rtol=1e-10, atol=1e-12
    )


def test_bidirectional_matches_two_plain_loops(x64):
    kw = dict(dt_min=0.05, dt_max=0.5)
    fwd = s5ts.S5Layer(H, P, key=jax.random.key(3), **kw)
    bwd = s5ts.S5Layer(H, P, key=jax.random.key(4), **kw)
    layer = s5ts.Bidirectional(fwd, bwd)
    u, dt = _data(9)
    y_fwd, _ = run_loop(fwd, u, dt)
    # Reverse time: event k is held over the gap to the next event.
    dt_back = np.r_[np.asarray(dt)[1:], 0.0]
    y_bwd, _ = run_loop(bwd, np.asarray(u)[::-1], dt_back[::-1])
    np.testing.assert_allclose(layer(u, dt), y_fwd + y_bwd[::-1], rtol=1e-9, atol=1e-12)
    # Trailing padding stays a no-op in both directions.
    u_pad = jnp.concatenate([u, jnp.zeros((4, H))])
    dt_pad = jnp.concatenate([dt, jnp.zeros(4)])
    np.testing.assert_allclose(layer(u_pad, dt_pad)[:L], layer(u, dt), rtol=1e-10)
    with pytest.raises(ValueError, match="cannot be stepped"):
        layer.step(layer.init_state(), u[0], dt[0])


@pytest.mark.parametrize("name", ["s5", "dss-softmax"])
def test_gradients_match_finite_differences(x64, name):
    layer = _make(name)
    u, dt = _data(10, length=9)
    params, static = eqx.partition(layer, eqx.is_array)
    flat, unravel = jax.flatten_util.ravel_pytree(params)

    @jax.jit
    def loss(theta):
        return jnp.sum(jnp.sin(eqx.combine(unravel(theta), static)(u, dt)))

    grad = jax.jit(jax.grad(loss))(flat)
    rng = np.random.default_rng(0)
    for _ in range(4):
        v = jnp.asarray(rng.normal(size=flat.shape))
        # DSS's log-step has large higher derivatives: at h = 1e-4 the O(h⁴) truncation
        # error reaches 2e-7 of the scale for some initialisations; at 1e-5 it is < 1e-10.
        h = 1e-5

        def central(step, v=v):
            return (loss(flat + step * v) - loss(flat - step * v)) / (2 * step)

        fd = (4 * central(h / 2) - central(h)) / 3  # Richardson: O(h⁴) truncation error
        # A directional derivative sums terms of both signs: bound the error by |g|·|v|.
        scale = float(jnp.dot(jnp.abs(grad), jnp.abs(v)))
        assert abs(float(jnp.dot(grad, v) - fd)) <= 1e-7 * scale


@pytest.mark.parametrize("name", ["s5", "s4d-lin", "dss-exp"])
def test_vmapped_batch_equals_one_at_a_time(name):
    layer = _make(name)
    rng = np.random.default_rng(11)
    u = jnp.asarray(rng.normal(size=(4, L, H)), jnp.float32)
    dt = jnp.asarray(rng.exponential(1.0, (4, L)), jnp.float32)
    batch = _apply(layer, u, dt)
    for i in range(4):
        np.testing.assert_allclose(batch[i], _apply(layer, u[i], dt[i]), rtol=1e-5, atol=1e-5)


def test_float32_tracks_float64_with_tiny_and_huge_gaps():
    rng = np.random.default_rng(12)
    u = rng.normal(size=(2000, H))
    dt = 10.0 ** rng.uniform(-6, 6, 2000)
    dt[::7] = 0.0
    layer32 = s5ts.S5Layer(H, P, clip_eigs=True, key=jax.random.key(0))
    y32 = np.asarray(_apply(layer32, jnp.asarray(u, jnp.float32), jnp.asarray(dt, jnp.float32)))
    assert np.all(np.isfinite(y32))
    with jax.enable_x64(True):
        layer64 = jax.tree.map(
            lambda x: jnp.asarray(x, jnp.float64) if eqx.is_array(x) else x, layer32
        )
        y64 = np.asarray(layer64(jnp.asarray(u), jnp.asarray(dt)))
    np.testing.assert_allclose(y32, y64, rtol=1e-3, atol=1e-3 * np.abs(y64).max())


def test_bad_shapes_are_explained():
    layer = _make("s5")
    with pytest.raises(ValueError, match="u must have shape"):
        layer(jnp.zeros(L), jnp.zeros(L))
    with pytest.raises(ValueError, match="For batch-major data use jax.vmap"):
        layer(jnp.zeros((2, L, H)), jnp.zeros((2, L)).T)
    with pytest.raises(ValueError, match="dt must have shape"):
        layer(jnp.zeros((L, H)), jnp.zeros(L + 1))


@pytest.mark.parametrize("name", ["s5", "s4d-inv", "dss-softmax"])
def test_time_major_batch_equals_vmap_and_batched_step(name):
    layer = _make(name)
    rng = np.random.default_rng(13)
    u = jnp.asarray(rng.normal(size=(3, L, H)), jnp.float32)
    dt = jnp.asarray(rng.exponential(1.0, (3, L)), jnp.float32)
    by_vmap = _apply(layer, u, dt)
    time_major = eqx.filter_jit(lambda m, u, dt: m(u, dt))(layer, u.swapaxes(0, 1), dt.T)
    np.testing.assert_allclose(time_major.swapaxes(0, 1), by_vmap, rtol=1e-5, atol=1e-5)
    final, ys = _stepped(layer, u.swapaxes(0, 1), dt.T)
    assert final.shape == (3,) + layer.state_shape
    np.testing.assert_allclose(ys.swapaxes(0, 1), by_vmap, rtol=1e-5, atol=1e-5)
