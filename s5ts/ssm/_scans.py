"""Scan backends for the diagonal linear recurrence `x_k = a_k ⊙ x_{k-1} + b_k`.

Two interchangeable backends: a sequential `lax.scan` (O(L) work, best on CPU) and a
`lax.associative_scan` (O(L log L) work, O(log L) depth, best on accelerators). Both
take an explicit initial state so that a sequence can be continued exactly.
"""

import abc

import equinox as eqx
import jax

from .._array_types import Array, Complex


class AbstractScan(eqx.Module):
    """Computes all states of `x_k = a_k ⊙ x_{k-1} + b_k` along the leading axis."""

    @abc.abstractmethod
    def __call__(
        self,
        a: Complex[Array, " length *state"],
        b: Complex[Array, " length *state"],
        x0: Complex[Array, "*state"],
    ) -> Complex[Array, " length *state"]:
        """Run the recurrence from `x0`.

        **Arguments:**

        - `a`: the multipliers `a_k`, `(L, *state)`.
        - `b`: the inputs `b_k`, `(L, *state)`.
        - `x0`: the state before the first element, `(*state)`.

        **Returns:**

        Every state `x_k`, `(L, *state)`: `xs[k]` is the state after element `k`.
        """
        raise NotImplementedError


class SequentialScan(AbstractScan):
    """`lax.scan` over time.

    **Arguments:**

    - `unroll`: `lax.scan`'s unroll factor (default 1: unrolling measured slower on CPU,
      `benchmarks/scan.py`).
    """

    unroll: int = eqx.field(static=True, default=1)

    def __call__(self, a, b, x0):
        def body(x, ab):
            x = ab[0] * x + ab[1]
            return x, x

        _, xs = jax.lax.scan(body, x0, (a, b), unroll=self.unroll)
        return xs


def _compose(left, right):
    # (a_l, b_l) then (a_r, b_r): x ↦ a_r (a_l x + b_l) + b_r.
    a_l, b_l = left
    a_r, b_r = right
    return a_r * a_l, a_r * b_l + b_r


class AssociativeScan(AbstractScan):
    """Parallel prefix scan with the affine-map composition as its operator."""

    def __call__(self, a, b, x0):
        # Fold the initial state into the first element: x_0 = a_0 x0 + b_0.
        b = b.at[0].add(a[0] * x0)
        _, xs = jax.lax.associative_scan(_compose, (a, b))
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
