"""Shared base of the SISO diagonal layers (S4D, DSS): one small SSM per channel.

Channel `h` carries modes `x[h, n]`: `x_k = Λ̄_k ⊙ x_{k-1} + γ̄_k ⊙ B ⊙ u_k[h]` and
`y_k[h] = factor · Re Σ_n C[h, n] x_k[h, n] + D[h] u_k[h]`. On a regular grid the same
system is a causal convolution with the Vandermonde kernel, computed by FFT.
"""

import abc

import jax.numpy as jnp

from .._array_types import AnyArray, Complex, Float, Seq
from ._abstract_layer import AbstractSSMLayer


class AbstractSISOLayer(AbstractSSMLayer):
    @abc.abstractmethod
    def _io(
        self,
    ) -> tuple[Complex[AnyArray, "hidden modes"], Complex[AnyArray, "hidden modes"], float]:
        """Input gains `B`, output gains `C` (both `(H, N)`) and the output factor."""

    @abc.abstractmethod
    def _feedthrough(self) -> Float[AnyArray, " hidden"]:
        """`D`."""

    @property
    def state_shape(self) -> tuple[int, ...]:
        return self._io()[0].shape

    def _project_in(self, u):
        B = self._io()[0]
        return B * u[..., None].astype(B.dtype)

    def _project_out(self, x, u):
        _, C, factor = self._io()
        return factor * jnp.real(jnp.sum(C * x, axis=-1)) + self._feedthrough() * u

    def kernel(self, length: int, dt: float = 1.0) -> Float[AnyArray, "length hidden"]:
        """The impulse response on a regular grid with gap `dt`.

        `K[l, h] = factor · Re Σ_n C[h,n] γ̄[h,n] B[h,n] Λ̄[h,n]^l` (Vandermonde form),
        without the feedthrough `D`.

        **Arguments:**

        - `length`: the number of lags L.
        - `dt`: the gap between events (default 1.0).

        **Returns:**

        The kernel `K`, `(L, H)`.
        """
        Lambda_bar, gamma = self._coefficients(jnp.full((1,), dt))
        Lambda_bar, gamma = Lambda_bar[0], gamma[0]
        B, C, factor = self._io()
        steps = jnp.arange(length, dtype=jnp.real(Lambda_bar).dtype)[:, None, None]
        powers = jnp.exp(jnp.log(Lambda_bar)[None] * steps.astype(Lambda_bar.dtype))
        return factor * jnp.real(jnp.sum((C * gamma * B)[None] * powers, axis=-1))

    def convolve(self, u: Seq, dt: float = 1.0) -> Seq:
        """The layer on a regular grid (every gap `dt`) as an FFT convolution.

        Equal to `layer(u, full(L, dt))` from a zero state. The FFT length is 2L so that
        the circular convolution it computes equals the causal linear one.

        **Arguments:**

        - `u`: inputs `(L, H)`.
        - `dt`: the gap between events (default 1.0).

        **Returns:**

        The outputs `(L, H)`.
        """
        length = u.shape[0]
        K = self.kernel(length, dt)
        n = 2 * length
        y = jnp.fft.irfft(jnp.fft.rfft(K, n, axis=0) * jnp.fft.rfft(u, n, axis=0), n, axis=0)
        return y[:length] + self._feedthrough() * u
