"""JAX's persistent compilation cache: compile a network once per machine, not per process.

A fit or a prediction compiles its jitted steps (seconds each on a CPU, most of a small
job). With the cache on, XLA writes each compiled program to a directory and a later
process with the same shapes loads it instead. The command line turns it on; the
library leaves it to the caller (`s5ts.enable_compilation_cache()`), since a library
should not write to a user's disk unasked.
"""

import os
from pathlib import Path

import jax


CACHE_ENV = "S5TS_CACHE_DIR"  # where the cache lives; "0" or "off" turns it off for the CLI


def default_cache_dir() -> Path:
    """`$S5TS_CACHE_DIR`, else `$XDG_CACHE_HOME/s5ts/jax`, else `~/.cache/s5ts/jax`."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "s5ts" / "jax"


def enable_compilation_cache(path: str | Path | None = None, min_compile_seconds: float = 0.0):
    """Turn on JAX's persistent compilation cache for this process.

    **Arguments:**

    - `path`: the cache directory (created if needed); default `default_cache_dir()`.
    - `min_compile_seconds`: programs that compile faster than this are not cached.

    **Returns:**

    The cache directory, a `pathlib.Path`.
    """
    path = default_cache_dir() if path is None else Path(path).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_seconds))
    return path


def cli_cache_enabled() -> bool:
    """The command line caches unless `S5TS_CACHE_DIR` is "0" or "off"."""
    return os.environ.get(CACHE_ENV, "").lower() not in ("0", "off")
