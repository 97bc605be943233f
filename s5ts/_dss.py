"""DSS (Gupta et al., 2022): one diagonal spectrum shared by all channels."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, Float
from ._discretise import ZOH, AbstractDiscretisation
from ._init import skew_hippo
from ._scan import AbstractScan, default_scan
from ._siso import AbstractSISOLayer


class DSSLayer(AbstractSISOLayer):
    """DSS: `state_size` complex modes with `Λ` shared across channels, `Δ` per channel.

    `Λ` starts at the skew-HiPPO spectrum; `W` (the output gains) is complex standard
    normal; the output is `Re Σ_n W x` with no conjugate pairing.

    - `variant="exp"`: `Re Λ = -exp(·)`; with ZOH this is the DSS-exp kernel
      `K_l = Re Σ W (e^{λΔ}-1)/λ e^{lλΔ}`.
    - `variant="softmax"`: the output gains are normalised by `e^{λΔ·length} - 1`, the
      DSS-softmax kernel over a window of `length` events. Unlike the original, `Re Λ`
      stays negative so that the recurrence is stable on unbounded irregular sequences.
    """

    Lambda_log_neg_re: Float[Array, " modes"]
    Lambda_im: Float[Array, " modes"]
    W_re: Float[Array, "hidden modes"]
    W_im: Float[Array, "hidden modes"]
    D: Float[Array, " hidden"]
    log_step: Float[Array, " hidden"]
    hidden_size: int = eqx.field(static=True)
    state_size: int = eqx.field(static=True)
    variant: str = eqx.field(static=True)
    length: int = eqx.field(static=True)
    discretisation: AbstractDiscretisation
    scan_backend: AbstractScan

    def __init__(
        self,
        hidden_size: int,
        state_size: int,
        *,
        variant: str = "exp",
        length: int = 1024,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        discretisation: AbstractDiscretisation | None = None,
        scan: AbstractScan | None = None,
        dtype=None,
        key: jax.Array,
    ):
        if variant not in ("exp", "softmax"):
            raise ValueError(f"variant must be 'exp' or 'softmax'; got {variant!r}.")
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
        self.length = length
        self.discretisation = ZOH() if discretisation is None else discretisation
        self.scan_backend = default_scan() if scan is None else scan

    def _spectrum(self):
        Lambda = -jnp.exp(self.Lambda_log_neg_re) + 1j * self.Lambda_im
        return Lambda[None, :], jnp.exp(self.log_step)[:, None]

    def _io(self):
        W = self.W_re + 1j * self.W_im
        if self.variant == "softmax":
            Lambda, Delta = self._spectrum()
            W = W / jnp.expm1(Lambda * Delta * self.length)
        return jnp.ones_like(W), W, 1.0

    def _feedthrough(self):
        return self.D
