"""S4D (Gu et al., 2022): diagonal SISO SSMs per channel, with a regular-grid kernel path."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._array_types import AnyArray, Float
from ._discretisation import ZOH, AbstractDiscretisation
from ._initialisers import s4d_init
from ._scans import AbstractScan, default_scan
from ._siso import AbstractSISOLayer


class AbstractS4DInit(eqx.Module):
    """An S4D initial spectrum: `init(n_modes)` gives `n_modes` complex eigenvalues.

    One eigenvalue per conjugate pair, as float64 numpy.
    """

    @abc.abstractmethod
    def __call__(self, n_modes: int) -> np.ndarray:
        """The initial spectrum.

        **Arguments:**

        - `n_modes`: the number of complex modes (one per conjugate pair).

        **Returns:**

        `(n_modes,)` complex128 eigenvalues.
        """
        raise NotImplementedError


class S4DLegS(AbstractS4DInit):
    """The HiPPO-N spectrum (as S5 and DSS), real part -1/2: S4D-LegS."""

    def __call__(self, n_modes: int) -> np.ndarray:
        return s4d_init("legs", n_modes)


class S4DInv(AbstractS4DInit):
    """S4D-Inv: imaginary parts `(N/π)(N/(2n+1) - 1)` with `N = 2 n_modes`, real part -1/2."""

    def __call__(self, n_modes: int) -> np.ndarray:
        return s4d_init("inv", n_modes)


class S4DLin(AbstractS4DInit):
    """S4D-Lin: imaginary parts `π n`, real part -1/2."""

    def __call__(self, n_modes: int) -> np.ndarray:
        return s4d_init("lin", n_modes)


class S4DReal(AbstractS4DInit):
    """S4D-Real: real eigenvalues `-(n+1)` (the raw HiPPO-LegS spectrum)."""

    def __call__(self, n_modes: int) -> np.ndarray:
        return s4d_init("real", n_modes)


_INITS = {"legs": S4DLegS, "inv": S4DInv, "lin": S4DLin, "real": S4DReal}


def _as_init(init: "str | AbstractS4DInit") -> AbstractS4DInit:
    if isinstance(init, AbstractS4DInit):
        return init
    if isinstance(init, str) and init in _INITS:
        return _INITS[init]()
    raise ValueError(
        f"init must be an S4D initialisation object (s5ts.ssm.S4DLegS(), S4DInv(), "
        f"S4DLin(), S4DReal()) or one of the aliases {sorted(_INITS)}; got {init!r}."
    )


class S4DLayer(AbstractSISOLayer):
    """S4D: each of the H channels has its own `state_size/2` complex modes.

    `Λ` is initialised by `init` and untied per channel, `Re Λ = -exp(·)` keeps it
    stable; `Δ` is learned per channel (S4D's `dt_tie`); `B` starts at ones, `C` complex
    standard normal, output `2 Re(·)`.
    """

    Lambda_log_neg_re: Float[AnyArray, "hidden modes"]
    Lambda_im: Float[AnyArray, "hidden modes"]
    B_re: Float[AnyArray, "hidden modes"]
    B_im: Float[AnyArray, "hidden modes"]
    C_re: Float[AnyArray, "hidden modes"]
    C_im: Float[AnyArray, "hidden modes"]
    D: Float[AnyArray, " hidden"]
    log_step: Float[AnyArray, " hidden"]
    hidden_size: int = eqx.field(static=True)
    state_size: int = eqx.field(static=True)
    init: AbstractS4DInit
    discretisation: AbstractDiscretisation
    scan_backend: AbstractScan

    def __init__(
        self,
        hidden_size: int,
        state_size: int,
        *,
        init: "AbstractS4DInit | str" = "legs",
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        discretisation: AbstractDiscretisation | None = None,
        scan: AbstractScan | None = None,
        dtype=None,
        key: jax.Array,
    ):
        """**Arguments:**

        - `hidden_size`: H, the number of channels (input and output width).
        - `state_size`: the real state size per channel (even); `state_size / 2` modes.
        - `init`: the initial spectrum, an object (`S4DLegS()`, `S4DInv()`, `S4DLin()`,
          `S4DReal()`) or its alias `"legs"`, `"inv"`, `"lin"`, `"real"`.
        - `dt_min`, `dt_max`: range of the log-uniform initial `Δ` per channel.
        - `discretisation`: a rule object (`ZOH()` by default).
        - `scan`: a scan backend (chosen per JAX backend by default).
        - `dtype`: the real dtype of the parameters (default: JAX's default float dtype).
        - `key`: a `jax.random` key.
        """
        if state_size % 2:
            raise ValueError(
                f"state_size={state_size} must be even: S4D keeps one mode per conjugate pair."
            )
        init = _as_init(init)
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        c_key, d_key, dt_key = jax.random.split(key, 3)
        Lambda = np.broadcast_to(init(state_size // 2), (hidden_size, state_size // 2))
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
        Lambda = jax.lax.complex(-jnp.exp(self.Lambda_log_neg_re), self.Lambda_im)
        return Lambda, jnp.exp(self.log_step)[:, None]

    def _io(self):
        B = jax.lax.complex(self.B_re, self.B_im)
        return B, jax.lax.complex(self.C_re, self.C_im), 2.0

    def _feedthrough(self):
        return self.D
