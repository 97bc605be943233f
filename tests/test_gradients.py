"""The layers' hand-written backward pass and vmap rule against JAX's own autodiff.

The reference is the plainest program there is — a Python loop over events, one
`x = Λ̄ x + γ̄ B̃u` per event, differentiated by JAX — in float64, with padding events
(`u = 0`, `dt = 0`) and zero gaps in the data, under every rule and both scan backends.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import s5ts


H, P, L, BATCH = 3, 8, 12, 2
RULES = {"zoh": s5ts.ZOH(), "bilinear": s5ts.Bilinear(), "impulse": s5ts.Impulse()}
SCANS = {"sequential": s5ts.SequentialScan(), "associative": s5ts.AssociativeScan()}
UNROLLED = {"sequential-unroll3": s5ts.SequentialScan(unroll=3)}  # L = 12 is not a multiple
LAYERS = {
    "s5": lambda key, **kw: s5ts.S5Layer(H, P, blocks=2, key=key, **kw),
    "s4d": lambda key, **kw: s5ts.S4DLayer(H, P, key=key, **kw),
    "dss-softmax": lambda key, **kw: s5ts.DSSLayer(
        H, P, variant="softmax", length=L, key=key, **kw
    ),
}


def _make(name, rule="zoh", scan="sequential"):
    return LAYERS[name](
        jax.random.key(7),
        discretisation=RULES[rule],
        scan=SCANS[scan],
        dt_min=0.05,
        dt_max=0.5,
    )


def _data(layer, seed=0, batch=(BATCH,)):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(L, *batch, H))
    dt = rng.exponential(1.0, (L, *batch))
    dt[3] = 0.0  # a zero gap with an input
    u[6], dt[6] = 0.0, 0.0  # padding events, inside ...
    u[-1], dt[-1] = 0.0, 0.0  # ... and at the end
    shape = tuple(batch) + layer.state_shape
    x0 = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    return jnp.asarray(u), jnp.asarray(dt), jnp.asarray(x0)


def _loop(layer, u, dt, x0):
    """The reference: a Python loop over events, for JAX to differentiate."""
    Lambda, Delta = layer._spectrum()
    x, ys = x0, []
    for k in range(u.shape[0]):
        dt_k = jnp.reshape(dt[k], dt[k].shape + (1,) * Lambda.ndim)
        Lambda_bar, gamma = layer.discretisation(Lambda, Delta * dt_k)
        x = Lambda_bar * x + gamma * layer._project_in(u[k])
        ys.append(layer._project_out(x, u[k]))
    return jnp.stack(ys), x


def _loss(run):
    # Touches every output and the final state, with cotangents that are not all equal.
    def loss(layer, u, dt, x0):
        y, final = run(layer, u, dt, x0)
        return jnp.sum(jnp.sin(y)) + jnp.sum(jnp.abs(final) ** 2 * jnp.cos(jnp.real(final)))

    return loss


def _scan(layer, u, dt, x0):
    return layer.scan(u, dt, x0)


def _assert_trees_close(got, want, rtol=1e-8):
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * max(np.abs(w).max(), 1e-300))


@pytest.mark.parametrize("scan", list(SCANS))
@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("name", list(LAYERS))
def test_values_and_gradients_match_a_differentiated_loop(x64, name, rule, scan):
    layer = _make(name, rule, scan)
    args = (layer, *_data(layer))
    # Λ (log of -Re and Im), log Δ, B, C (or W), D, and the inputs u, dt and initial state.
    grad = jax.jit(jax.value_and_grad(_loss(_scan), argnums=(0, 1, 2, 3)))
    want = jax.value_and_grad(_loss(_loop), argnums=(0, 1, 2, 3))(*args)
    got = grad(*args)
    _assert_trees_close(got, want)
    # Every parameter gets a gradient (the padding events and zero gaps do not zero them).
    assert all(np.abs(np.asarray(g)).max() > 0 for g in jax.tree.leaves(got[1][0]))


def test_an_unrolled_loop_gives_the_same_gradients(x64):
    layer = _make("s5", "zoh", "sequential")
    args = (layer, *_data(layer, seed=9))
    unrolled = eqx.tree_at(lambda m: m.scan_backend, layer, UNROLLED["sequential-unroll3"])
    grad = jax.value_and_grad(_loss(_scan), argnums=(0, 1, 2, 3))
    _assert_trees_close(grad(unrolled, *args[1:]), grad(*args), rtol=1e-12)


@pytest.mark.parametrize("scan", list(SCANS))
def test_a_time_major_batch_of_state_axes(x64, scan):
    # Two batch axes, `(L, 2, 3, H)`, through the same backward pass.
    layer = _make("s4d", scan=scan)
    args = (layer, *_data(layer, seed=1, batch=(2, 3)))
    want = jax.grad(_loss(_loop), argnums=(0, 1, 2, 3))(*args)
    _assert_trees_close(jax.grad(_loss(_scan), argnums=(0, 1, 2, 3))(*args), want)


def _loop_recurrence(a, b, x0, reverse):
    xs, x = [None] * a.shape[0], x0
    for k in reversed(range(a.shape[0])) if reverse else range(a.shape[0]):
        x = a[k] * x + b[k]
        xs[k] = x
    return jnp.stack(xs)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("scan", list(SCANS) + list(UNROLLED))
def test_scan_vjp_matches_a_differentiated_loop(x64, scan, reverse):
    # JAX's convention: cotangents are transposes, with no complex conjugate.
    rng = np.random.default_rng(2)
    c = lambda *s: jnp.asarray(rng.normal(size=s) + 1j * rng.normal(size=s))  # noqa: E731
    a, b, x0, g = 0.9 * c(9, 2, 3), c(9, 2, 3), c(2, 3), c(9, 2, 3)
    backend = {**SCANS, **UNROLLED}[scan]
    xs, vjp = jax.vjp(lambda a, b, x0: backend(a, b, x0, reverse=reverse), a, b, x0)
    xs_ref, vjp_ref = jax.vjp(lambda a, b, x0: _loop_recurrence(a, b, x0, reverse), a, b, x0)
    _assert_trees_close(xs, xs_ref, rtol=1e-12)
    _assert_trees_close(vjp(g), vjp_ref(g), rtol=1e-12)


def test_grad_of_vmap_and_vmap_of_grad_under_jit(x64):
    layer = _make("s5")
    u, dt, x0 = _data(layer, seed=3, batch=(4,))
    u_bm, dt_bm = jnp.moveaxis(u, 1, 0), dt.T  # batch-major: (4, L, H), (4, L)

    def per_example(layer, u, dt, x0):
        y, final = layer.scan(u, dt, x0)
        return jnp.sum(jnp.sin(y)) + jnp.sum(jnp.abs(final) ** 2)

    # grad(vmap(...)): the whole batch at once, equal to the time-major batch.
    def batch_loss(layer, u, dt, x0):
        return jnp.sum(jax.vmap(per_example, in_axes=(None, 0, 0, 0))(layer, u, dt, x0))

    got = jax.jit(jax.grad(batch_loss, argnums=(0, 1, 2, 3)))(layer, u_bm, dt_bm, x0)
    want = jax.grad(_loss_time_major, argnums=(0, 1, 2, 3))(layer, u, dt, x0)
    want = (want[0], jnp.moveaxis(want[1], 1, 0), want[2].T, want[3])
    _assert_trees_close(got, want, rtol=1e-10)

    # vmap(grad(...)): one gradient per example, equal to one example at a time.
    grads = jax.jit(jax.vmap(jax.grad(per_example), in_axes=(None, 0, 0, 0)))(
        layer, u_bm, dt_bm, x0
    )
    for i in range(4):
        one = jax.grad(per_example)(layer, u_bm[i], dt_bm[i], x0[i])
        _assert_trees_close(jax.tree.map(lambda g, i=i: g[i], grads), one, rtol=1e-10)


def _loss_time_major(layer, u, dt, x0):
    y, final = layer.scan(u, dt, x0)
    return jnp.sum(jnp.sin(y)) + jnp.sum(jnp.abs(final) ** 2)


@pytest.mark.parametrize("name", list(LAYERS))
def test_vmapped_batch_equals_the_time_major_path(name):
    # float32, as used: the batch-major call under vmap and the time-major call agree.
    layer = _make(name)
    rng = np.random.default_rng(4)
    u = jnp.asarray(rng.normal(size=(5, L, H)), jnp.float32)
    dt = jnp.asarray(rng.exponential(1.0, (5, L)), jnp.float32)
    vmapped = eqx.filter_jit(lambda m, u, dt: jax.vmap(m.scan)(u, dt))(layer, u, dt)
    time_major = eqx.filter_jit(lambda m, u, dt: m.scan(u, dt))(layer, u.swapaxes(0, 1), dt.T)
    np.testing.assert_allclose(vmapped[0], time_major[0].swapaxes(0, 1), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(vmapped[1], time_major[1], rtol=1e-6, atol=1e-6)
    # Only the gaps batched (one input sequence, several timings).
    only_dt = jax.vmap(layer, in_axes=(None, 0))(u[0], dt)
    np.testing.assert_allclose(only_dt[2], layer(u[0], dt[2]), rtol=1e-6, atol=1e-6)


def test_an_ensemble_of_layers_under_vmap(x64):
    # The parameters batched too: each example with its own layer.
    layer = _make("s5")
    u, dt, x0 = _data(layer, seed=5, batch=(3,))
    keys = jax.random.split(jax.random.key(1), 3)
    ensemble = eqx.filter_vmap(
        lambda k: eqx.tree_at(lambda m: m.B_re, layer, layer.B_re + jax.random.normal(k, (4, H)))
    )(keys)

    def loss(ensemble):
        run = eqx.filter_vmap(lambda m, u, dt: m(u, dt), in_axes=(eqx.if_array(0), 1, 1))
        return jnp.sum(jnp.sin(run(ensemble, u, dt)))

    grads = jax.grad(loss)(ensemble)
    for i in range(3):
        member = jax.tree.map(lambda x, i=i: x[i] if eqx.is_array(x) else x, ensemble)
        one = jax.grad(lambda m, i=i: jnp.sum(jnp.sin(m(u[:, i], dt[:, i]))))(member)
        _assert_trees_close(jax.tree.map(lambda g, i=i: g[i], grads), one, rtol=1e-10)


def test_second_derivatives_match_the_loop(x64):
    layer = _make("s5", "bilinear")
    u, dt, x0 = _data(layer, seed=6)

    def curvature(run):
        def inner(scale):
            loss = _loss(run)
            return jnp.sum(jax.grad(loss)(layer, u * scale, dt, x0).log_step)

        return jax.grad(inner)(1.0)

    np.testing.assert_allclose(curvature(_scan), curvature(_loop), rtol=1e-9)


@pytest.mark.parametrize("rule", list(RULES))
def test_rule_partials_match_their_derivatives(x64, rule):
    rule = RULES[rule]
    rng = np.random.default_rng(8)
    Lambda = jnp.asarray(-np.exp(rng.normal(size=6)) + 1j * rng.normal(size=6) * 3)
    Lambda = Lambda.at[0].set(-1e-3).at[1].set(0.0)  # nearly and exactly zero
    for Delta in [0.0, 1e-9, 1e-3, 0.7, 20.0]:  # down to the series branch, and up
        Delta = jnp.full(6, Delta)
        got = rule.partials(Lambda, Delta, *rule(Lambda, Delta))
        d_Delta = jax.jvp(lambda d: rule(Lambda, d), (Delta,), (jnp.ones(6),))[1]
        d_Lambda = jax.jvp(
            lambda lam, d=Delta: rule(lam, d), (Lambda,), (jnp.ones(6, Lambda.dtype),)
        )[1]
        for g, w in zip(got, (*d_Delta, *d_Lambda), strict=True):
            w = np.asarray(w)
            np.testing.assert_allclose(jnp.broadcast_to(g, w.shape), w, rtol=1e-7, atol=1e-12)
