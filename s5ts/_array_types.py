"""Shared jaxtyping aliases, so that shapes read the same in every module.

A sequence is time-major: `length` first, then any batch axes, then the features. A layer
applied to one series sees `*batch` empty; the forecaster passes `(L, B, H)` batches.
"""

import numpy as np
from jaxtyping import Array, Bool, Complex, Float, Inexact, Int


# A JAX array, or a numpy one (host-side batches, before they reach a jitted call).
AnyArray = Array | np.ndarray

Seq = Float[AnyArray, "length *batch hidden"]
Gaps = Float[AnyArray, "length *batch"]
Valid = Bool[AnyArray, "length *batch"]
Step = Float[AnyArray, "*batch hidden"]
State = Complex[AnyArray, "..."]

__all__ = [
    "AnyArray",
    "Array",
    "Bool",
    "Complex",
    "Float",
    "Gaps",
    "Inexact",
    "Int",
    "Seq",
    "State",
    "Step",
    "Valid",
]
