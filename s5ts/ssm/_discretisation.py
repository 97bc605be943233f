"""Discretisation rules for a diagonal SSM `x' = Λ x + B̃ u` over a gap of length Δ.

A rule maps `(Λ, Δ)` to `(Λ̄, γ̄)` with the recurrence `x_k = Λ̄ ⊙ x_{k-1} + γ̄ ⊙ (B̃ u_k)`.
Rules are small stateless objects passed to a layer, not strings. Each also gives its
four partial derivatives in closed form from the values it produced (`partials`), which
the layers' backward pass uses instead of differentiating the formulas again: no second
complex exponential per event and state, and no cancellation near `ΛΔ = 0`.
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._array_types import AnyArray, Array, Complex, Float


@jax.custom_jvp
def complex_exp(z: Complex[AnyArray, "..."]) -> Complex[AnyArray, "..."]:
    """`e^z` for complex `z`; in single precision without XLA's scalar sine and cosine.

    On CPU, XLA evaluates the `sin`/`cos` inside a complex64 `exp` one element at a time,
    ~5× the cost of everything else the layer does per event and state
    (`benchmarks/README.md`). Here they are Cephes' single-precision minimax polynomials
    after a three-part Cody–Waite reduction by π/2, plain arithmetic that XLA vectorises:
    within 1.3e-7 of `jnp.exp` for `|Im z| ≤ 1e3`; beyond, the phase error stays of the
    order of the rounding already in a float32 `Im z` (`|Im z|·6e-8`), and the result is
    finite with modulus `e^{Re z}`. Double precision uses `jnp.exp`.

    **Arguments:**

    - `z`: a complex array.

    **Returns:**

    `e^z`, the shape and dtype of `z`.
    """
    if z.dtype != jnp.complex64:
        return jnp.exp(z)
    t = jnp.imag(z)
    quadrant = jnp.round(t * (2 / np.pi))
    r = ((t - quadrant * 1.5703125) - quadrant * 4.837512969970703125e-4) - (
        quadrant * 7.54978995489188216e-8
    )
    r = jnp.clip(r, -0.786, 0.786)  # |r| <= π/4 unless |t| is too large to reduce
    r2 = r * r
    sin = r + r * r2 * (-1.6666654611e-1 + r2 * (8.3321608736e-3 + r2 * -1.9515295891e-4))
    cos = (
        1
        - r2 / 2
        + r2
        * r2
        * (4.166664568298827e-2 + r2 * (-1.388731625493765e-3 + r2 * 2.443315711809948e-5))
    )
    q = quadrant.astype(jnp.int32)
    swap = (q & 1) == 1
    sin, cos = jnp.where(swap, cos, sin), jnp.where(swap, sin, cos)
    sin = jnp.where((q & 2) == 2, -sin, sin)
    cos = jnp.where(((q + 1) & 2) == 2, -cos, cos)
    modulus = jnp.exp(jnp.real(z))
    return jax.lax.complex(modulus * cos, modulus * sin)


@complex_exp.defjvp
def _complex_exp_jvp(primals, tangents):
    out = complex_exp(primals[0])
    return out, out * tangents[0]


def zoh_gain(
    Lambda: Complex[AnyArray, "..."], Delta: Float[AnyArray, "..."] | float, Lambda_bar
) -> Complex[AnyArray, "..."]:
    """`(e^{ΛΔ} - 1)/Λ` given `Λ̄ = e^{ΛΔ}`, accurate in float32 for tiny `|ΛΔ|`.

    The direct form cancels catastrophically near 0 (~10 % error at |ΛΔ| = 1e-7 in
    float32). Below `|ΛΔ| < 1e-2` a four-term series `Δ(1 + z/2 + z²/6 + z³/24)` takes
    over (truncation below 1e-10 relative); above, the cancellation costs at most
    `eps/|z|` ≈ 6e-6 relative. Reusing `Λ̄` keeps the pass to one complex exponential,
    and the safe branches keep gradients finite at `Δ = 0` (and `Λ = 0`, the limit `Δ`).
    """
    Delta = _as_complex(Delta, Lambda)
    z = Lambda * Delta
    small = jnp.real(z) ** 2 + jnp.imag(z) ** 2 < 1e-4
    # 1/Λ on Λ's own (small, unbroadcast) shape: one reciprocal per state, not per event.
    inv_Lambda = 1 / jnp.where(Lambda == 0, jnp.ones_like(Lambda), Lambda)
    series = Delta * (1 + z * (1 / 2 + z * (1 / 6 + z / 24)))
    return jnp.where(small, series, (Lambda_bar - 1) * inv_Lambda)


def _as_complex(
    Delta: Float[AnyArray, "..."] | float, Lambda: Complex[AnyArray, "..."]
) -> Complex[AnyArray, "..."]:
    # Explicit, so the module runs under strict dtype promotion; the same numbers as
    # the implicit promotion (a zero imaginary part).
    return jnp.asarray(Delta).astype(jnp.result_type(Lambda))


class AbstractDiscretisation(eqx.Module):
    """Maps continuous eigenvalues `Λ` and step sizes `Δ` (broadcastable) to `(Λ̄, γ̄)`."""

    @abc.abstractmethod
    def __call__(
        self, Lambda: Complex[AnyArray, "..."], Delta: Float[AnyArray, "..."] | float
    ) -> tuple[Complex[AnyArray, "..."], Complex[AnyArray, "..."]]:
        """Discretise every state over its step.

        **Arguments:**

        - `Lambda`: continuous eigenvalues `Λ` (complex).
        - `Delta`: step sizes `Δ ≥ 0` (real), broadcastable against `Lambda`; a layer passes
          its per-state `Δ` times the event's gap `dt`.

        **Returns:**

        `(Lambda_bar, gamma_bar)`: the complex `(Λ̄, γ̄)` of the recurrence, of the
        broadcast shape.
        """
        raise NotImplementedError

    @abc.abstractmethod
    def partials(
        self,
        Lambda: Complex[AnyArray, "..."],
        Delta: Float[AnyArray, "..."] | float,
        Lambda_bar: Complex[AnyArray, "..."],
        gamma_bar: Complex[AnyArray, "..."],
    ) -> tuple[Array, Array, Array, Array]:
        """The partial derivatives of `(Λ̄, γ̄)` at a point, from the values there.

        `Λ̄` and `γ̄` are holomorphic in `Λ`, so `∂/∂Λ` is the complex derivative; `Δ` is
        real.

        **Arguments:**

        - `Lambda`, `Delta`: the point, as passed to `__call__`.
        - `Lambda_bar`, `gamma_bar`: what `__call__` returned there.

        **Returns:**

        `(∂Λ̄/∂Δ, ∂γ̄/∂Δ, ∂Λ̄/∂Λ, ∂γ̄/∂Λ)`, complex, each broadcastable to the shape of
        `Lambda_bar`.
        """
        raise NotImplementedError


class ZOH(AbstractDiscretisation):
    """Zero-order hold (the S5 paper's rule): the input is held over the gap that precedes it.

    `Λ̄ = e^{ΛΔ}`, `γ̄ = (e^{ΛΔ} - 1)/Λ`. Exact for piecewise-constant inputs, so
    splitting a gap with the input held leaves the state unchanged. An event after a zero
    gap contributes nothing (`γ̄ = 0`).
    """

    def __call__(self, Lambda, Delta):
        Lambda_bar = complex_exp(Lambda * _as_complex(Delta, Lambda))
        return Lambda_bar, zoh_gain(Lambda, Delta, Lambda_bar)

    def partials(self, Lambda, Delta, Lambda_bar, gamma_bar):
        # ∂γ̄/∂Λ = (ΔΛ̄ - γ̄)/Λ = Δ² (z e^z - e^z + 1)/z²: the same series switch as the gain.
        Delta = _as_complex(Delta, Lambda)
        z = Lambda * Delta
        small = jnp.real(z) ** 2 + jnp.imag(z) ** 2 < 1e-4
        inv_Lambda = 1 / jnp.where(Lambda == 0, jnp.ones_like(Lambda), Lambda)
        series = Delta * Delta * (1 / 2 + z * (1 / 3 + z * (1 / 8 + z / 30)))
        d_gain = jnp.where(small, series, (Delta * Lambda_bar - gamma_bar) * inv_Lambda)
        return Lambda * Lambda_bar, Lambda_bar, Delta * Lambda_bar, d_gain


class Bilinear(AbstractDiscretisation):
    """Bilinear (Tustin) rule: `Λ̄ = (1 + ΛΔ/2)/(1 - ΛΔ/2)`, `γ̄ = Δ/(1 - ΛΔ/2)`."""

    def __call__(self, Lambda, Delta):
        Delta = _as_complex(Delta, Lambda)
        inv = 1 / (1 - Lambda * Delta / 2)
        return inv * (1 + Lambda * Delta / 2), inv * Delta

    def partials(self, Lambda, Delta, Lambda_bar, gamma_bar):
        # With w = 1/(1 - ΛΔ/2) = (1 + Λ̄)/2: ∂Λ̄/∂(ΛΔ) = w², ∂γ̄/∂Δ = w², ∂γ̄/∂Λ = Δ² w²/2.
        Delta = _as_complex(Delta, Lambda)
        w2 = ((1 + Lambda_bar) / 2) ** 2
        return Lambda * w2, w2, Delta * w2, Delta * Delta * w2 / 2


class Impulse(AbstractDiscretisation):
    """Impulse ("dirac") rule: `Λ̄ = e^{ΛΔ}`, `γ̄ = 1`.

    Each event enters the state at full weight whatever the preceding gap, so an
    observation after a very short or zero gap is not down-weighted or dropped.
    Padding events must then carry `u = 0` as well as `Δ = 0` to be no-ops.
    """

    def __call__(self, Lambda, Delta):
        Lambda_bar = complex_exp(Lambda * _as_complex(Delta, Lambda))
        return Lambda_bar, jnp.ones_like(Lambda_bar)

    def partials(self, Lambda, Delta, Lambda_bar, gamma_bar):
        zero = jnp.zeros((), Lambda_bar.dtype)
        return Lambda * Lambda_bar, zero, _as_complex(Delta, Lambda) * Lambda_bar, zero
