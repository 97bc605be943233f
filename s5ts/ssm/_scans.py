"""Scan backends for the diagonal linear recurrence `x_k = a_k ⊙ x_{k-1} + b_k`.

Two interchangeable backends: a sequential loop (O(L) work, best on CPU) and a
`lax.associative_scan` (O(L log L) work, O(log L) depth, best on accelerators). Both
take an explicit initial state so that a sequence can be continued exactly, both run
the recurrence backwards in time too (`reverse=True`, the adjoint), and both share one
custom VJP written here.
"""

import abc
import functools

import equinox as eqx
import jax
import jax.numpy as jnp

from .._array_types import AnyArray, Complex


class AbstractScan(eqx.Module):
    """Computes all states of `x_k = a_k ⊙ x_{k-1} + b_k` along the leading axis.

    A backend implements `_run`; `__call__` is written once here and adds the
    recurrence's own VJP: the adjoint is the same recurrence backwards in time, run on the
    same backend, so nothing is stored per step beyond `a` and the states (see
    `_recurrence.py` for the convention).
    """

    @abc.abstractmethod
    def _run(self, a, b, x0, reverse: bool):
        """The states, without autodiff (`__call__`'s contract)."""

    def __call__(
        self,
        a: Complex[AnyArray, " length *state"],
        b: Complex[AnyArray, " length *state"],
        x0: Complex[AnyArray, "*state"],
        *,
        reverse: bool = False,
    ) -> Complex[AnyArray, " length *state"]:
        """Run the recurrence from `x0`.

        **Arguments:**

        - `a`: the multipliers `a_k`, `(L, *state)`.
        - `b`: the inputs `b_k`, `(L, *state)`.
        - `x0`: the state before the first element, `(*state)`.
        - `reverse`: run backwards in time instead, `x_k = a_k ⊙ x_{k+1} + b_k` from
          `x_L = x0` (default `False`).

        **Returns:**

        Every state `x_k`, `(L, *state)`: `xs[k]` is the state after element `k` (with
        `reverse`, after the elements `L-1, ..., k`).
        """
        return _recurrence(self, reverse, a, b, x0)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _recurrence(backend, reverse, a, b, x0):
    return backend._run(a, b, x0, reverse)


def _recurrence_fwd(backend, reverse, a, b, x0):
    xs = backend._run(a, b, x0, reverse)
    return xs, (a, xs, x0)


def _recurrence_bwd(backend, reverse, res, g):
    # Forward in time, λ_k = g_k + a_{k+1} λ_{k+1}. With ν_k = a_k λ_k the adjoint is the
    # recurrence ν_k = a_k ν_{k+1} + a_k g_k in the other direction, on unshifted `a`:
    # λ_k = g_k + ν_{k+1}, ∂a_k = λ_k x_{k-1}, ∂b_k = λ_k, ∂x0 = ν_0 (mirrored in reverse).
    a, xs, x0 = res
    x0 = x0.astype(xs.dtype)
    nu = backend._run(a, a * g, jnp.zeros_like(x0), not reverse)
    zero = jnp.zeros_like(nu[:1])
    if reverse:
        lam = g + jnp.concatenate([zero, nu[:-1]])
        d_a = lam * jnp.concatenate([xs[1:], x0[None]])
        d_x0 = nu[-1]
    else:
        lam = g + jnp.concatenate([nu[1:], zero])
        d_a = lam * jnp.concatenate([x0[None], xs[:-1]])
        d_x0 = nu[0]
    return d_a, lam, d_x0


_recurrence.defvjp(_recurrence_fwd, _recurrence_bwd)


class SequentialScan(AbstractScan):
    """A sequential loop over time, O(L) work.

        The states are written over the inputs `b` in place (each `b_k` is read once, just
        before `x_k` replaces it), so the loop allocates no buffer of its own when `b` is a
        temporary. The layers' backward pass does not use this class: it runs its own reverse
    loop (`_recurrence._loop_backward`).

        **Arguments:**

        - `unroll`: the loop's unroll factor (default 1: unrolling measured slower on CPU,
          `benchmarks/scan.py`).
    """

    unroll: int = eqx.field(static=True, default=1)

    def _run(self, a, b, x0, reverse):
        x0 = x0.astype(b.dtype)
        if self.unroll != 1:
            # Unrolled, the in-place form below makes XLA copy the buffer at every step
            # (it cannot order the reads of `b` before the writes): a `lax.scan` instead.
            def step(x, ab):
                x = ab[0] * x + ab[1]
                return x, x

            return jax.lax.scan(step, x0, (a, b), unroll=self.unroll, reverse=reverse)[1]
        length = a.shape[0]

        def body(i, carry):
            x, out = carry
            k = length - 1 - i if reverse else i
            x = a[k] * x + out[k]
            return x, out.at[k].set(x)

        return jax.lax.fori_loop(0, length, body, (x0, b))[1]


def _compose(left, right):
    # (a_l, b_l) then (a_r, b_r): x ↦ a_r (a_l x + b_l) + b_r.
    a_l, b_l = left
    a_r, b_r = right
    return a_r * a_l, a_r * b_l + b_r


class AssociativeScan(AbstractScan):
    """Parallel prefix scan with the affine-map composition as its operator."""

    def _run(self, a, b, x0, reverse):
        # Fold the initial state into the first element: x_0 = a_0 x0 + b_0 (in reverse,
        # the last: x_{L-1} = a_{L-1} x0 + b_{L-1}).
        first = -1 if reverse else 0
        b = b.at[first].add(a[first] * x0)
        _, xs = jax.lax.associative_scan(_compose, (a, b), reverse=reverse)
        return xs


def default_scan() -> AbstractScan:
    """The backend measured fastest on the current JAX backend (`benchmarks/scan.py`).

    On CPU the sequential scan wins by a wide margin (the parallel scan does ~3× the
    work with no parallel hardware to spend it on); on GPU/TPU the associative scan's
    O(log L) depth wins.

    **Returns:**

    `SequentialScan()` on CPU, else `AssociativeScan()`.
    """
    if jax.default_backend() == "cpu":
        return SequentialScan()
    return AssociativeScan()
