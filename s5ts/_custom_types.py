"""Shared jaxtyping aliases, so that shapes read the same in every module."""

from jaxtyping import Array, Bool, Complex, Float, Inexact


Seq = Float[Array, "length hidden"]
Gaps = Float[Array, " length"]
Step = Float[Array, " hidden"]
State = Complex[Array, "..."]

__all__ = ["Array", "Bool", "Complex", "Float", "Inexact", "Seq", "Gaps", "Step", "State"]
