"""A layer's whole-sequence pass, with its own backward pass.

`layer_scan(layer, u, dt, x0)` computes what `AbstractSSMLayer.scan` returns: per event,
`(Λ̄_k, γ̄_k)` from the discretisation rule at `Δ·dt_k`, the recurrence
`x_k = Λ̄_k ⊙ x_{k-1} + γ̄_k ⊙ B̃u_k` on the layer's scan backend, and the read-out.

**Backward** (`jax.custom_vjp`). The forward keeps what it computed anyway — `Λ̄`, `γ̄`,
`B̃u`, the states `x` and the projections' linearisations — and nothing per step
besides. The adjoint is the same recurrence run backwards,

    λ_k = Λ̄_{k+1} ⊙ λ_{k+1} + g_k,    λ_{L-1} = g_{L-1} + ḡ_final,

with `g = ∂loss/∂x` from the read-out. JAX's cotangents are transposes, not adjoints: no
complex conjugate appears anywhere (the conjugated recursion, `conj(Λ̄)` and
`λ conj(x)`, is the same thing in the other convention, PyTorch's; the tests check this
one against `jax.vjp` of a plain loop). Then `∂Λ̄_k = λ_k x_{k-1}`, `∂γ̄_k = λ_k B̃u_k`,
`∂(B̃u_k) = λ_k γ̄_k` and `∂x0 = Λ̄_0 λ_0`. The rule's own closed-form `partials` carry
`∂Λ̄`, `∂γ̄` to `Λ` and to `Δ·dt` (no exponential is evaluated again), and `jax.vjp` of
the layer's small, layer-specific pieces (`_spectrum`, `_project_in`, `_project_out`)
does the rest, so every layer and rule shares this one backward pass.

With `SequentialScan` the adjoint recurrence and every per-event cotangent are one loop
backwards over the events, each event's quantities in cache; with another backend they
are whole-array passes around the adjoint run on that backend (`reverse=True`).

Profiled before writing it (`benchmarks/README.md`): under plain autodiff the exponential
and the rule's series branch were evaluated again in four separate backward fusions,
each another pass over `(L, batch, state)` complex tensors, and the weight gradients'
matmuls contracted over two event axes, which XLA's CPU backend does by first copying
both operands transposed. A custom VJP at the scan level alone (the rule still
differentiated by JAX) left forward+backward at 3.2× the forward.

**Batching.** `jax.vmap` over batch-major data needs no rule of its own: the sequential
loop slices events along whichever axis vmap puts them on, so no complex per-event
tensor is transposed (measured within 5 % of the time-major call), and the backward pass
is batched as a whole (per-example gradients under `vmap(grad(...))`).
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp

from ._scans import SequentialScan


def layer_scan(layer, u, dt, x0):
    """`(y, final_state)` of `layer` over the time-major `u`, `dt` from `x0`."""
    params, static = eqx.partition(layer, eqx.is_array)
    return _build(static)(params, u, dt, x0)


def _build(static):
    def read_in(p, u):
        return eqx.combine(p, static)._project_in(u)

    def read_out(p, x, u):
        return eqx.combine(p, static)._project_out(x, u)

    def run(params, u, dt, x0, project):
        # `project(fn, *args)` applies a projection; the forward rule also keeps its
        # linearisation. Events are flattened to one axis for the projections: a weight
        # gradient then contracts over one axis, which XLA's CPU matmul takes as it is;
        # over `(L, *batch)` it first copies both operands into a transposed layout.
        layer = eqx.combine(params, static)
        lead = dt.shape
        Lambda, Delta = layer._spectrum()
        Bu_flat, in_vjp = project(read_in, params, _flat(u, lead))
        Bu = Bu_flat.reshape(lead + Bu_flat.shape[1:])
        # `Λ` per state, `Δ·dt` per event and `Δ`'s own axes: broadcast only inside the
        # per-event computations that use them.
        tau = Delta * _per_event(dt, Lambda.ndim)
        coefficients = layer.discretisation(Lambda, tau)
        xs = layer.scan_backend(coefficients[0], coefficients[1] * Bu, x0)
        y, out_vjp = project(read_out, params, _flat(xs, lead), _flat(u, lead))
        # Complex per-event arrays are kept as real and imaginary parts: where they come
        # from a matmul (S5's `B̃u`) those are the matmul's own outputs, no extra pass.
        Bu_parts = tuple(part.reshape(Bu.shape) for part in _parts(Bu_flat))  # as g_x below
        res = (params, dt, x0, coefficients, Bu_parts, xs, in_vjp, out_vjp)
        return (y.reshape(u.shape), xs[-1]), res

    def primal(params, u, dt, x0):
        return run(params, u, dt, x0, lambda fn, *args: (fn(*args), None))[0]

    def forward(params, u, dt, x0):
        return run(params, u, dt, x0, jax.vjp)

    def backward(res, cts):
        params, dt, x0, coefficients, Bu_parts, xs, in_vjp, out_vjp = res
        g_y, g_final = cts
        layer = eqx.combine(params, static)
        lead = dt.shape
        d_params_out, g_x, d_u_out = out_vjp(_flat(g_y, lead))
        # Real and imaginary parts taken before the reshape: the other way round XLA
        # copies both parts of the matmul's output instead of reading them in place.
        g_x = tuple(part.reshape(xs.shape) for part in _parts(g_x))
        g_final = g_final.astype(xs.dtype)
        (Lambda, Delta), spectrum_vjp = jax.vjp(
            lambda p: eqx.combine(p, static)._spectrum(), params
        )
        backend = layer.scan_backend
        backward_pass = (
            functools.partial(_loop_backward, unroll=backend.unroll)
            if isinstance(backend, SequentialScan)
            else functools.partial(_vectorised_backward, backend=backend)
        )
        d_Bu, d_dt, d_x0, d_Lambda, d_Delta = backward_pass(
            layer.discretisation,
            Lambda,
            Delta,
            dt,
            Bu_parts,
            xs,
            x0,
            g_x,
            g_final,
            *coefficients,
        )
        (d_params_coef,) = spectrum_vjp(
            (_sum_to(d_Lambda, Lambda.shape), _sum_to(d_Delta, Delta.shape).astype(Delta.dtype))
        )
        d_params_in, d_u_in = in_vjp(_flat(jax.lax.complex(*d_Bu), lead))
        d_params = jax.tree.map(lambda a, b, c: a + b + c, d_params_out, d_params_coef, d_params_in)
        d_u = (d_u_out + d_u_in).reshape(g_y.shape[:-1] + d_u_in.shape[-1:])
        return d_params, d_u, d_dt.astype(dt.dtype), d_x0.astype(x0.dtype)

    fn = jax.custom_vjp(primal)
    fn.defvjp(forward, backward)
    return fn


def _parts(z):
    return jnp.real(z), jnp.imag(z)


def _per_event(dt, n_state):
    # A gap per event (and batch element) against the state axes.
    return jnp.reshape(dt, dt.shape + (1,) * n_state)


def _loop_backward(
    rule, Lambda, Delta, dt, Bu, xs, x0, g_x, g_final, Lambda_bars, gammas, *, unroll
):
    # The adjoint (see the module docstring) and every per-event cotangent in one loop
    # backwards over the events: ν_k = Λ̄_k λ_k, λ_k = g_k + ν_{k+1}, from ν_L = ḡ_final.
    # Per event it writes ∂(B̃u_k) and ∂dt_k; ∂Λ and ∂Δ accumulate. (Writing ∂(B̃u_k) over
    # g_k in place would need a read before the write that XLA cannot order: it copies
    # the whole buffer every step instead.)
    length, n_state = dt.shape[0], Lambda.ndim
    state_axes = tuple(range(dt.ndim - 1, dt.ndim - 1 + n_state))
    x0 = jnp.broadcast_to(x0, xs.shape[1:]).astype(xs.dtype)

    def body(i, carry):
        nu, acc_Lambda, acc_Delta, d_re, d_im, d_dt = carry
        k = length - 1 - i
        dt_k = _per_event(dt[k], n_state)
        tau = Delta * dt_k
        Lambda_bar, gamma = Lambda_bars[k], gammas[k]
        a_tau, g_tau, a_Lambda, g_Lambda = rule.partials(Lambda, tau, Lambda_bar, gamma)
        lam = jax.lax.complex(g_x[0][k], g_x[1][k]) + nu
        x_prev = jnp.where(k > 0, xs[jnp.maximum(k - 1, 0)], x0)
        d_Lambda_bar, d_gamma = lam * x_prev, lam * jax.lax.complex(Bu[0][k], Bu[1][k])
        d_tau = jnp.real(d_Lambda_bar * a_tau + d_gamma * g_tau)
        acc_Lambda = acc_Lambda + d_Lambda_bar * a_Lambda + d_gamma * g_Lambda
        acc_Delta = acc_Delta + d_tau * dt_k
        d_dt = d_dt.at[k].set(jnp.sum(d_tau * Delta, axis=state_axes))
        d_Bu = lam * gamma
        d_re, d_im = d_re.at[k].set(jnp.real(d_Bu)), d_im.at[k].set(jnp.imag(d_Bu))
        return Lambda_bar * lam, acc_Lambda, acc_Delta, d_re, d_im, d_dt

    zeros = jnp.zeros(xs.shape[1:], xs.dtype)
    init = (
        g_final,
        zeros,
        jnp.real(zeros),
        jnp.zeros_like(g_x[0]),
        jnp.zeros_like(g_x[1]),
        jnp.zeros(dt.shape, jnp.real(zeros).dtype),
    )
    nu, acc_Lambda, acc_Delta, d_re, d_im, d_dt = jax.lax.fori_loop(
        0, length, body, init, unroll=unroll
    )
    batch_axes = tuple(range(dt.ndim - 1))
    d_Lambda, d_Delta = jnp.sum(acc_Lambda, batch_axes), jnp.sum(acc_Delta, batch_axes)
    return (d_re, d_im), d_dt, nu, d_Lambda, d_Delta


def _vectorised_backward(
    rule, Lambda, Delta, dt, Bu, xs, x0, g_x, g_final, Lambda_bar, gamma, *, backend
):
    Bu, g_x = jax.lax.complex(*Bu), jax.lax.complex(*g_x)
    # The same as `_loop_backward`, one pass per quantity over all events, the adjoint
    # recurrence on the layer's backend.
    nu = backend(Lambda_bar, Lambda_bar * g_x, g_final, reverse=True)
    lam = g_x + jnp.concatenate([nu[1:], g_final[None]])
    x_prev = jnp.concatenate([x0[None].astype(xs.dtype), xs[:-1]])
    d_Lambda_bar, d_gamma = lam * x_prev, lam * Bu
    dt_b = _per_event(dt, Lambda.ndim)
    a_tau, g_tau, a_Lambda, g_Lambda = rule.partials(Lambda, Delta * dt_b, Lambda_bar, gamma)
    # ∂loss/∂(Δ·dt) per event and state, then to Δ and to dt by hand: as `jax.vjp` of
    # the product, XLA would first materialise dt broadcast to every state.
    d_tau = jnp.real(d_Lambda_bar * a_tau + d_gamma * g_tau)
    d_Delta = _weighted_sum(dt, d_tau, Delta.shape)
    d_dt = jnp.sum(d_tau * Delta, axis=tuple(range(dt.ndim, d_tau.ndim)))
    d_Lambda = _sum_to(d_Lambda_bar * a_Lambda + d_gamma * g_Lambda, Lambda.shape)
    return _parts(lam * gamma), d_dt, nu[0], d_Lambda, d_Delta


def _flat(x, lead):
    # `(*lead, *rest)` to `(prod(lead), *rest)`.
    return x.reshape((-1,) + x.shape[len(lead) :])


def _weighted_sum(w, x, shape):
    # `Σ_lead w ⊙ x`, summed down to `shape` (which `x`'s trailing axes broadcast from).
    # The sum over the leading axes is one matrix-vector product: no broadcast of `w`.
    n_state = x.ndim - w.ndim
    tail = (1,) * (n_state - len(shape)) + tuple(shape)
    axes = tuple(w.ndim + i for i, n in enumerate(tail) if n == 1 and x.shape[w.ndim + i] != 1)
    x = jnp.sum(x, axis=axes, keepdims=True) if axes else x
    return jnp.reshape(jnp.reshape(w, (-1,)) @ jnp.reshape(x, (w.size, -1)), shape)


def _sum_to(x, shape):
    # Sum an array down to the shape it was broadcast from.
    x = jnp.sum(x, axis=tuple(range(x.ndim - len(shape))))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and x.shape[i] != 1)
    return jnp.sum(x, axis=axes, keepdims=True)
