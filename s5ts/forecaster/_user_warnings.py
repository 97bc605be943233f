"""Warnings that point at the user's own line, however deep inside s5ts they are raised."""

import sys
import warnings


# Frames of these packages are skipped: s5ts itself, and the wrappers that runtime type
# checkers (jaxtyping, beartype) put around its functions.
_INTERNAL = ("s5ts", "jaxtyping", "beartype")


def warn(message: str | Warning, category: type[Warning] | None = None) -> None:
    """`warnings.warn(message, category)` attributed to the first caller outside s5ts.

    **Arguments:**

    - `message`: the warning's text, or a warning instance (then `category` is its class).
    - `category`: its class, for a text.
    """
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_INTERNAL):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level + 1)
