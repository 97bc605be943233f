"""DSS (Gupta et al., 2022): one diagonal spectrum shared by all channels."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._array_types import AnyArray, Complex, Float
from ._discretisation import ZOH, AbstractDiscretisation
from ._initialisers import skew_hippo
from ._scans import AbstractScan, default_scan
from ._siso import AbstractSISOLayer


class AbstractDSSVariant(eqx.Module):
    """How DSS turns its free output gains `W` into the read-out `C`."""

    @abc.abstractmethod
    def output_gains(
        self,
        W: Complex[AnyArray, "hidden modes"],
        Lambda: Complex[AnyArray, "1 modes"],
        Delta: Float[AnyArray, "hidden 1"],
    ) -> Complex[AnyArray, "hidden modes"]:
        """The read-out `C` from the free gains.

        **Arguments:**

        - `W`: the free output gains `(H, N)`.
        - `Lambda`: the continuous spectrum `(1, N)`, shared by every channel.
        - `Delta`: the per-channel step sizes `(H, 1)`.

        **Returns:**

        The read-out `C`, `(H, N)`.
        """
        raise NotImplementedError


class DSSExp(AbstractDSSVariant):
    """DSS-exp: `C = W`; with ZOH the kernel is `K_l = Re Σ W (e^{λΔ}-1)/λ e^{lλΔ}`."""

    def output_gains(self, W, Lambda, Delta):
        return W


class DSSSoftmax(AbstractDSSVariant):
    """DSS-softmax: `C = W / (e^{λΔ·length} - 1)`.

    The normalisation over a window of `length` events. Unlike the original, `Re Λ` stays
    negative, so the recurrence is stable on unbounded irregular sequences.

    **Arguments:**

    - `length`: the window, in events (default 1024).
    """

    length: int = eqx.field(static=True, default=1024)

    def output_gains(self, W, Lambda, Delta):
        z = Lambda * Delta.astype(Lambda.dtype) * self.length
        return W / jnp.expm1(z)


def _as_variant(variant: "str | AbstractDSSVariant", length: int) -> AbstractDSSVariant:
    if isinstance(variant, AbstractDSSVariant):
        return variant
    if variant == "exp":
        return DSSExp()
    if variant == "softmax":
        return DSSSoftmax(length)
    raise ValueError(
        "variant must be a DSS variant object (s5ts.ssm.DSSExp(), DSSSoftmax(length)) or "
        f"one of the aliases 'exp', 'softmax'; got {variant!r}."
    )


class DSSLayer(AbstractSISOLayer):
    """DSS: `state_size` complex modes with `Λ` shared across channels, `Δ` per channel.

    `Λ` starts at the skew-HiPPO spectrum, `Re Λ = -exp(·)`; `W` (the free output gains)
    is complex standard normal, turned into the read-out by the `variant`; the output is
    `Re Σ_n C x` with no conjugate pairing.
    """

    Lambda_log_neg_re: Float[AnyArray, " modes"]
    Lambda_im: Float[AnyArray, " modes"]
    W_re: Float[AnyArray, "hidden modes"]
    W_im: Float[AnyArray, "hidden modes"]
    D: Float[AnyArray, " hidden"]
    log_step: Float[AnyArray, " hidden"]
    hidden_size: int = eqx.field(static=True)
    state_size: int = eqx.field(static=True)
    variant: AbstractDSSVariant
    discretisation: AbstractDiscretisation
    scan_backend: AbstractScan

    def __init__(
        self,
        hidden_size: int,
        state_size: int,
        *,
        variant: "AbstractDSSVariant | str" = "exp",
        length: int = 1024,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        discretisation: AbstractDiscretisation | None = None,
        scan: AbstractScan | None = None,
        dtype=None,
        key: jax.Array,
    ):
        """**Arguments:**

        - `hidden_size`: H, the number of channels.
        - `state_size`: the number of complex modes, shared by every channel.
        - `variant`: `DSSExp()` or `DSSSoftmax(length)`, or the alias `"exp"` /
          `"softmax"`.
        - `length`: the window of the `"softmax"` alias (a `DSSSoftmax` object carries its
          own).
        - `dt_min`, `dt_max`: range of the log-uniform initial `Δ` per channel.
        - `discretisation`: a rule object (`ZOH()` by default).
        - `scan`: a scan backend (chosen per JAX backend by default).
        - `dtype`: the real dtype of the parameters (default: JAX's default float dtype).
        - `key`: a `jax.random` key.
        """
        variant = _as_variant(variant, length)
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        w_key, d_key, dt_key = jax.random.split(key, 3)
        Lambda = skew_hippo(state_size)
        W = jax.random.normal(w_key, (2, hidden_size, state_size), dtype)
        self.Lambda_log_neg_re = jnp.asarray(np.log(-Lambda.real), dtype)
        self.Lambda_im = jnp.asarray(Lambda.imag, dtype)
        self.W_re, self.W_im = W[0], W[1]
        self.D = jax.random.normal(d_key, (hidden_size,), dtype)
        self.log_step = jax.random.uniform(
            dt_key, (hidden_size,), dtype, np.log(dt_min), np.log(dt_max)
        )
        self.hidden_size = hidden_size
        self.state_size = state_size
        self.variant = variant
        self.discretisation = ZOH() if discretisation is None else discretisation
        self.scan_backend = default_scan() if scan is None else scan

    def _spectrum(self):
        Lambda = jax.lax.complex(-jnp.exp(self.Lambda_log_neg_re), self.Lambda_im)
        return Lambda[None, :], jnp.exp(self.log_step)[:, None]

    def _io(self):
        Lambda, Delta = self._spectrum()
        C = self.variant.output_gains(jax.lax.complex(self.W_re, self.W_im), Lambda, Delta)
        return jnp.ones_like(C), C, 1.0

    def _feedthrough(self):
        return self.D
