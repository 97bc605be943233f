"""The S5 layer: one MIMO diagonal SSM, HiPPO-N initialised, over irregular time."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._array_types import AnyArray, Float
from ._abstract_layer import AbstractSSMLayer
from ._discretisation import ZOH, AbstractDiscretisation
from ._initialisers import s5_init
from ._scans import AbstractScan, default_scan


class S5Layer(AbstractSSMLayer):
    """S5 (Smith, Warrington & Linderman, 2023) with a per-event step `Δ·dt_k`.

    `x_k = Λ̄_k ⊙ x_{k-1} + γ̄_k ⊙ (B̃ u_k)`, `y_k = 2 Re(C̃ x_k) + D ⊙ u_k` (factor 1
    without conjugate symmetry), with `(Λ̄_k, γ̄_k)` from the discretisation rule at
    `Δ·dt_k`, where `Δ` is learned per state.

    Parameters are stored as real arrays: `Re Λ = -exp(Lambda_log_neg_re)` keeps every
    mode stable for any parameter value; `B̃ = V⁻¹B` and `C̃ = CV` are formed once at
    initialisation and then learned freely.
    """

    Lambda_log_neg_re: Float[AnyArray, " state"]
    Lambda_im: Float[AnyArray, " state"]
    B_re: Float[AnyArray, "state hidden"]
    B_im: Float[AnyArray, "state hidden"]
    C_re: Float[AnyArray, "hidden state"]
    C_im: Float[AnyArray, "hidden state"]
    D: Float[AnyArray, " hidden"]
    log_step: Float[AnyArray, " state"]
    hidden_size: int = eqx.field(static=True)
    state_size: int = eqx.field(static=True)
    conj_sym: bool = eqx.field(static=True)
    clip_eigs: bool = eqx.field(static=True)
    discretisation: AbstractDiscretisation
    scan_backend: AbstractScan

    def __init__(
        self,
        hidden_size: int,
        state_size: int,
        *,
        blocks: int = 1,
        conj_sym: bool = True,
        clip_eigs: bool = False,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        discretisation: AbstractDiscretisation | None = None,
        scan: AbstractScan | None = None,
        dtype=None,
        key: jax.Array,
    ):
        """**Arguments:**

        - `hidden_size`: H, the input and output width.
        - `state_size`: P, the full real state size; the layer carries P/2 complex
          states with `conj_sym` (the default), else P.
        - `blocks`: J, the number of identical HiPPO-N blocks P is split into (default 1).
        - `conj_sym`: keep one state of each conjugate pair and read out `2 Re(C̃ x)`
          (default `True`); each block then needs an even size.
        - `clip_eigs`: keep `Re Λ ≤ -1e-4`, a minimum decay rate for unbounded sequences
          (default `False`).
        - `dt_min`, `dt_max`: range of the log-uniform initial `Δ` per state.
        - `discretisation`: a rule object (`ZOH()` by default).
        - `scan`: a scan backend (chosen per JAX backend by default).
        - `dtype`: the real dtype of the parameters (default: JAX's default float dtype).
        - `key`: a `jax.random` key.
        """
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        # Five keys, as when a reverse-time read-out was drawn here too: the same seed gives
        # the same layer (and the same recorded benchmark figures) as before.
        b_key, c_key, _, d_key, dt_key = jax.random.split(key, 5)
        Lambda, V = s5_init(state_size, blocks, conj_sym)
        n_states, n_rows = Lambda.shape[0], V.shape[0]

        # B ~ lecun normal over (P, H) (fan-in P), then B̃ = Vᴴ B.
        B = np.asarray(_trunc_normal(b_key, (n_rows, hidden_size), 1 / np.sqrt(n_rows)))
        B_tilde = V.conj().T @ B
        # C ~ truncated normal with std 1/sqrt(P) for Re and Im, then C̃ = C V.
        C = np.asarray(_trunc_normal(c_key, (2, hidden_size, n_rows), 1 / np.sqrt(n_rows)))
        C_tilde = C @ V  # Re and Im parts separately (the rounding of the recorded runs)
        C_tilde = C_tilde[0] + 1j * C_tilde[1]

        self.Lambda_log_neg_re = jnp.asarray(np.log(-Lambda.real), dtype)
        self.Lambda_im = jnp.asarray(Lambda.imag, dtype)
        self.B_re = jnp.asarray(B_tilde.real, dtype)
        self.B_im = jnp.asarray(B_tilde.imag, dtype)
        self.C_re = jnp.asarray(C_tilde.real, dtype)
        self.C_im = jnp.asarray(C_tilde.imag, dtype)
        self.D = jax.random.normal(d_key, (hidden_size,), dtype)
        self.log_step = jax.random.uniform(
            dt_key, (n_states,), dtype, np.log(dt_min), np.log(dt_max)
        )
        self.hidden_size = hidden_size
        self.state_size = state_size
        self.conj_sym = conj_sym
        self.clip_eigs = clip_eigs
        self.discretisation = ZOH() if discretisation is None else discretisation
        self.scan_backend = default_scan() if scan is None else scan

    @property
    def state_shape(self) -> tuple[int, ...]:
        """`(P/2,)` with `conj_sym`, else `(P,)`."""
        return self.Lambda_im.shape

    def _spectrum(self):
        re = -jnp.exp(self.Lambda_log_neg_re)
        if self.clip_eigs:
            re = jnp.minimum(re, -1e-4)
        return jax.lax.complex(re, self.Lambda_im), jnp.exp(self.log_step)

    def _project_in(self, u):
        return jax.lax.complex(u @ self.B_re.T, u @ self.B_im.T)

    def _project_out(self, x, u):
        factor = 2.0 if self.conj_sym else 1.0
        y = jnp.real(x) @ self.C_re.T - jnp.imag(x) @ self.C_im.T
        return factor * y + self.D * u


def _trunc_normal(key, shape, std):
    # Truncated at ±2 std and rescaled to unit variance, as lecun_normal does.
    return (
        std
        * jax.random.truncated_normal(
            key, -2.0, 2.0, shape, jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
        )
        / 0.87962566103423978
    )
