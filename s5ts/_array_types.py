"""Shared jaxtyping aliases, so that shapes read the same in every module.

A sequence is time-major: `length` first, then any batch axes, then the features. A layer
applied to one series sees `*batch` empty; the forecaster passes `(L, B, H)` batches.
"""

from jaxtyping import Array, Bool, Complex, Float, Inexact, Int


Seq = Float[Array, "length *batch hidden"]
Gaps = Float[Array, "length *batch"]
Valid = Bool[Array, "length *batch"]
Step = Float[Array, "*batch hidden"]
State = Complex[Array, "..."]

__all__ = [
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
