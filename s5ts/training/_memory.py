"""The heap memory a loop hands back to the system after compiling and validating."""

import ctypes
import functools
import sys


@functools.cache
def _malloc_trim():
    """glibc's `malloc_trim`, or None (another OS, or a C library without it, e.g. musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim  # the process's own C library
    except (OSError, AttributeError):
        return None


def release_free_memory() -> None:
    """Return the free pages of the C heap to the operating system (a no-op where glibc's
    `malloc_trim` is not available).

    XLA frees most of what it allocates to compile a program, but glibc keeps those
    pages mapped: a PhysioNet fit compiles its shapes one after another and each leaves
    about 100 MB resident that nothing uses. Trimming after each compilation keeps the
    fit's peak to the live memory plus one compilation."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
