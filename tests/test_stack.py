import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import s5ts


F, H, P, L = 4, 6, 8, 17


def _stack(rule, dropout=0.0):
    def make_ssm(key):
        return s5ts.S5Layer(H, P, blocks=2, dt_min=0.05, dt_max=0.5, discretisation=rule, key=key)

    return s5ts.SSMStack(F, make_ssm, n_layers=3, dropout=dropout, key=jax.random.key(0))


def _data(seed):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.normal(size=(L, F))), jnp.asarray(rng.exponential(1.0, L))


@eqx.filter_jit
def _run(stack, x, dt, valid=None):
    return stack.scan(x, dt, valid)


@eqx.filter_jit
def _stepped(stack, x, dt):
    states = stack.init_state(dt.shape[1:])
    return jax.lax.scan(lambda s, e: stack.step(s, *e), states, (x, dt))


@pytest.mark.parametrize("rule", [s5ts.ZOH(), s5ts.Impulse()])
def test_stepping_a_stack_equals_the_full_call(x64, rule):
    stack = _stack(rule)
    x, dt = _data(0)
    y, states = _run(stack, x, dt)
    final, ys = _stepped(stack, x, dt)
    np.testing.assert_allclose(ys, y, rtol=1e-10, atol=1e-12)
    for a, b in zip(final, states, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("rule", [s5ts.ZOH(), s5ts.Impulse(), s5ts.Bilinear()])
def test_masked_padding_is_a_no_op_through_the_stack(x64, rule):
    # Padding rows carry garbage features: the valid mask alone must neutralise them.
    stack = _stack(rule)
    x, dt = _data(1)
    where = np.array([3, 3, 9, L, L])
    x_pad = np.insert(np.asarray(x), where, 5.0, axis=0)
    dt_pad = np.insert(np.asarray(dt), where, 0.0)
    valid = np.ones(L + len(where), bool)
    valid[where + np.arange(len(where))] = False
    y_pad, states_pad = _run(stack, jnp.asarray(x_pad), jnp.asarray(dt_pad), jnp.asarray(valid))
    y, states = _run(stack, x, dt)
    np.testing.assert_allclose(y_pad[valid], y, rtol=1e-10, atol=1e-12)
    for a, b in zip(states_pad, states, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_continuing_from_states_and_jumping(x64):
    stack = _stack(s5ts.ZOH())
    x, dt = _data(2)
    y, states = _run(stack, x, dt)
    _, head = _run(stack, x[:8], dt[:8])
    tail, _ = eqx.filter_jit(lambda s, *a: s.scan(*a))(stack, x[8:], dt[8:], None, head)
    np.testing.assert_allclose(tail, y[8:], rtol=1e-10, atol=1e-12)
    # A jump by a + b equals a jump by a then by b (the semigroup property of e^{ΛΔt}).
    one = stack.jump(states, 3.0)
    two = stack.jump(stack.jump(states, 1.25), 1.75)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_dropout_only_with_a_key():
    stack = _stack(s5ts.ZOH(), dropout=0.5)
    x, dt = _data(3)
    x, dt = x.astype(jnp.float32), dt.astype(jnp.float32)
    call = eqx.filter_jit(lambda s, x, dt, key: s(x, dt, key=key))
    base = call(stack, x, dt, None)
    np.testing.assert_array_equal(base, call(stack, x, dt, None))
    k1, k2 = jax.random.key(1), jax.random.key(2)
    a, b = call(stack, x, dt, k1), call(stack, x, dt, k2)
    assert not np.allclose(a, base) and not np.allclose(a, b)
    np.testing.assert_array_equal(a, call(stack, x, dt, k1))


def test_time_major_batch_equals_one_sequence_at_a_time():
    stack = _stack(s5ts.ZOH(), dropout=0.3)
    rng = np.random.default_rng(4)
    x = jnp.asarray(rng.normal(size=(L, 3, F)), jnp.float32)
    dt = jnp.asarray(rng.exponential(1.0, (L, 3)), jnp.float32)
    valid = jnp.asarray(rng.random((L, 3)) > 0.2)
    y, states = _run(stack, x, dt, valid)
    for i in range(3):
        y_i, states_i = _run(stack, x[:, i], dt[:, i], valid[:, i])
        np.testing.assert_allclose(y[:, i], y_i, rtol=1e-5, atol=1e-5)
        for a, b in zip(states, states_i, strict=True):
            np.testing.assert_allclose(a[i], b, rtol=1e-5, atol=1e-5)
    _, ys = _stepped(stack, x, dt)
    np.testing.assert_allclose(ys, _run(stack, x, dt)[0], rtol=1e-5, atol=1e-5)
    # Dropout draws one mask per series: the series of a batch are not all masked alike.
    call = eqx.filter_jit(lambda s, x, dt, key: s(x, dt, key=key))
    same = jnp.broadcast_to(x[:, :1], x.shape)
    dropped = call(stack, same, jnp.broadcast_to(dt[:, :1], dt.shape), jax.random.key(5))
    assert not np.allclose(dropped[:, 0], dropped[:, 1])
