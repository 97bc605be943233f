"""Eigenvalue initialisers: HiPPO-LegS and the spectra S5, S4D and DSS derive from it.

Everything here is plain float64 numpy, run once at construction, so that the
initial spectra are exact whatever dtype JAX later computes in.
"""

import numpy as np


def hippo_legs(n: int) -> np.ndarray:
    """The HiPPO-LegS state matrix `A`.

    `A[i, k] = -sqrt((2i+1)(2k+1))` below the diagonal, `-(i+1)` on it, 0 above.

    **Arguments:**

    - `n`: the state size.

    **Returns:**

    `A`, float64 `(n, n)`.
    """
    p = np.sqrt(2.0 * np.arange(n) + 1.0)
    return -(np.tril(np.outer(p, p)) - np.diag(np.arange(n, dtype=np.float64)))


def hippo_normal(n: int) -> np.ndarray:
    """The normal part `S = A + P Pᵀ` of HiPPO-LegS, with `P_i = sqrt(i + 1/2)`.

    `S = -I/2 + (skew-symmetric)`, so it is normal and unitarily diagonalisable.

    **Arguments:**

    - `n`: the state size.

    **Returns:**

    `S`, float64 `(n, n)`.
    """
    p = np.sqrt(np.arange(n) + 0.5)
    return hippo_legs(n) + np.outer(p, p)


def hippo_n(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Diagonalise the HiPPO-N matrix `S` (see `hippo_normal`).

    The real part of every eigenvalue is exactly -1/2 (the diagonal of `S`); the
    imaginary parts come from the Hermitian matrix `-i * skew(S)`, whose eigh is
    well conditioned. Eigenvalues are sorted by ascending imaginary part, so the
    first half holds one member of each conjugate pair.

    **Arguments:**

    - `n`: the state size.

    **Returns:**

    `(Lambda, V)` with `V diag(Lambda) Vᴴ = S`: complex128 eigenvalues `(n,)` and the
    unitary eigenvectors `(n, n)`.
    """
    s = hippo_normal(n)
    skew = 0.5 * (s - s.T)
    imag, v = np.linalg.eigh(-1j * skew)
    lam = np.full(n, np.mean(np.diag(s))) + 1j * imag
    return lam, v


def s5_init(state_size: int, blocks: int, conj_sym: bool) -> tuple[np.ndarray, np.ndarray]:
    """S5's block-diagonal HiPPO-N initialisation.

    The state is split into `blocks` identical blocks of HiPPO-N. With `conj_sym`, each
    block keeps only the negative-imaginary half of its spectrum, so `(Lambda, V)` have
    `P/2` states. `V` is block diagonal and unitary, `V⁻¹ = Vᴴ`.

    **Arguments:**

    - `state_size`: P, the full (real) state size; a multiple of `blocks`.
    - `blocks`: the number of blocks; with `conj_sym` each block's size must be even.
    - `conj_sym`: keep one eigenvalue of each conjugate pair.

    **Returns:**

    `(Lambda, V)`: complex128 eigenvalues `(P',)` and eigenvectors `(P, P')`, where
    `P' = P/2` with `conj_sym`, else `P`.
    """
    if state_size % blocks:
        raise ValueError(
            f"state_size={state_size} must be divisible by blocks={blocks}; "
            "pick a state_size that is a multiple of blocks."
        )
    block = state_size // blocks
    if conj_sym and block % 2:
        raise ValueError(
            f"With conj_sym=True each block needs an even size, got state_size/blocks={block}; "
            "an odd block would silently lose a state to conjugate pairing."
        )
    lam, v = hippo_n(block)
    if conj_sym:
        lam, v = lam[: block // 2], v[:, : block // 2]
    lam_all = np.tile(lam, blocks)
    rows, cols = v.shape
    v_all = np.zeros((rows * blocks, cols * blocks), dtype=np.complex128)
    for j in range(blocks):
        v_all[j * rows : (j + 1) * rows, j * cols : (j + 1) * cols] = v
    return lam_all, v_all


def s4d_init(kind: str, n_modes: int) -> np.ndarray:
    """S4D's diagonal initialisations.

    **Arguments:**

    - `kind`: one of
        - `"legs"`: the HiPPO-N spectrum (same as S5 and DSS), real part -1/2;
        - `"inv"`: imaginary parts `(N/π)(N/(2n+1) - 1)` with `N = 2 n_modes`, real part
          -1/2;
        - `"lin"`: imaginary parts `π n`, real part -1/2;
        - `"real"`: real eigenvalues `-(n+1)` (the raw HiPPO-LegS spectrum).
    - `n_modes`: the number of complex modes.

    **Returns:**

    `(n_modes,)` complex128 eigenvalues, one per conjugate pair.
    """
    n = np.arange(n_modes, dtype=np.float64)
    full = 2 * n_modes
    if kind == "legs":
        lam, _ = hippo_n(full)
        return lam[:n_modes]
    if kind == "inv":
        return -0.5 - 1j * (full / np.pi) * (full / (2 * n + 1) - 1)
    if kind == "lin":
        return -0.5 - 1j * np.pi * n
    if kind == "real":
        return -(n + 1) + 0j
    raise ValueError(f"init must be one of 'legs', 'inv', 'lin', 'real'; got {kind!r}.")


def skew_hippo(n_modes: int) -> np.ndarray:
    """DSS's skew-HiPPO spectrum.

    The eigenvalues of the skew part of HiPPO of size `2 n_modes`, sorted by descending
    imaginary part, first `n_modes` kept, shifted by -1/2. Computed with a general
    (non-Hermitian) eigensolver, independently of `hippo_n`.

    **Arguments:**

    - `n_modes`: the number of complex modes.

    **Returns:**

    `(n_modes,)` complex128 eigenvalues.
    """
    a = hippo_legs(2 * n_modes)
    evals = np.linalg.eigvals(0.5 * (a - a.T))
    evals = evals[np.argsort(-evals.imag, kind="stable")][:n_modes]
    return 1j * evals.imag - 0.5
