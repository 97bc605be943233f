"""S4D (Gu et al., 2022): diagonal SISO SSMs per channel, with a regular-grid kernel path."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._custom_types import Array, Float
from ._discretise import ZOH, AbstractDiscretisation
from ._init import s4d_init
from ._scan import AbstractScan, default_scan
from ._siso import AbstractSISOLayer


class S4DLayer(AbstractSISOLayer):
    """S4D: each of the H channels has its own `state_size/2` complex modes.

    `Λ` is initialised by `init` (`"legs"`, `"inv"`, `"lin"` or `"real"`) and untied
    per channel, `Re Λ = -exp(·)` keeps it stable; `Δ` is learned per channel (S4D's
    `dt_tie`); `B` starts at ones, `C` complex standard normal, output `2 Re(·)`.
    """

    Lambda_log_neg_re: Float[Array, "hidden modes"]
    Lambda_im: Float[Array, "hidden modes"]
    B_re: Float[Array, "hidden modes"]
    B_im: Float[Array, "hidden modes"]
    C_re: Float[Array, "hidden modes"]
    C_im: Float[Array, "hidden modes"]
    D: Float[Array, " hidden"]
    log_step: Float[Array, " hidden"]
    hidden_size: int = eqx.field(static=True)
    state_size: int = eqx.field(static=True)
    init: str = eqx.field(static=True)
    discretisation: AbstractDiscretisation
    scan_backend: AbstractScan

    def __init__(
        self,
        hidden_size: int,
        state_size: int,
        *,
        init: str = "legs",
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        discretisation: AbstractDiscretisation | None = None,
        scan: AbstractScan | None = None,
        dtype=None,
        key: jax.Array,
    ):
        if state_size % 2:
            raise ValueError(
                f"state_size={state_size} must be even: S4D keeps one mode per conjugate pair."
            )
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        c_key, d_key, dt_key = jax.random.split(key, 3)
        Lambda = np.broadcast_to(s4d_init(init, state_size // 2), (hidden_size, state_size // 2))
        C = jax.random.normal(c_key, (2,) + Lambda.shape, dtype) * np.sqrt(0.5)
        self.Lambda_log_neg_re = jnp.asarray(np.log(-Lambda.real), dtype)
        self.Lambda_im = jnp.asarray(Lambda.imag, dtype)
        self.B_re = jnp.ones(Lambda.shape, dtype)
        self.B_im = jnp.zeros(Lambda.shape, dtype)
        self.C_re, self.C_im = C[0], C[1]
        self.D = jax.random.normal(d_key, (hidden_size,), dtype)
        self.log_step = jax.random.uniform(
            dt_key, (hidden_size,), dtype, np.log(dt_min), np.log(dt_max)
        )
        self.hidden_size = hidden_size
        self.state_size = state_size
        self.init = init
        self.discretisation = ZOH() if discretisation is None else discretisation
        self.scan_backend = default_scan() if scan is None else scan

    def _spectrum(self):
        Lambda = -jnp.exp(self.Lambda_log_neg_re) + 1j * self.Lambda_im
        return Lambda, jnp.exp(self.log_step)[:, None]

    def _io(self):
        return self.B_re + 1j * self.B_im, self.C_re + 1j * self.C_im, 2.0

    def _feedthrough(self):
        return self.D
