"""Start-up of `s5ts predict` with and without JAX's persistent compilation cache.

Fits a small model with `s5ts fit` (cache off), then runs the same `s5ts predict`
command three times in fresh processes: with the cache off, then twice with a new, empty
cache directory (the first run fills it, the second reads it). Each run's wall time is
mostly JAX start-up and compilation for a small history file, so the difference between
the first and second cached runs is the compilation the cache saves.

Usage, from the repository root::

    .venv/bin/python benchmarks/compile_cache.py
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import s5ts
from s5ts.datasets import synthetic_vitals


# The command line in a fresh process that also sums the seconds XLA spent compiling
# (JAX's backend-compile events) and reading the cache, and prints them last.
_CHILD = """
import sys, jax.monitoring as m
spent = {"compile": 0.0, "cache": 0.0}
def listen(name, secs, **_):
    if name == "/jax/core/compile/backend_compile_duration":
        spent["compile"] += secs
    elif name == "/jax/compilation_cache/cache_retrieval_time_sec":
        spent["cache"] += secs
m.register_event_duration_secs_listener(listen)
from s5ts.cli import main
code = main(sys.argv[1:])
print(spent["compile"], spent["cache"])
raise SystemExit(code)
"""


def run(argv, cache: str) -> tuple[float, float, float]:
    """(wall, compile, cache-read) seconds of one `s5ts` command in a fresh process."""
    env = dict(os.environ, S5TS_CACHE_DIR=cache, JAX_PLATFORMS="cpu")
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, *argv], env=env, check=True, capture_output=True
    )
    wall = time.perf_counter() - t0
    compile_s, cache_s = map(float, out.stdout.decode().split()[-2:])
    return wall, compile_s, cache_s


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patients", type=int, default=64)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        df, static_df = synthetic_vitals(args.patients, seed=0, frame="polars")
        df.write_parquet(d / "train.parquet")
        df.filter(df["ds"] <= 24.0).write_parquet(d / "hist.parquet")
        static_df.write_parquet(d / "static.parquet")
        fit = ["fit", str(d / "train.parquet"), str(d / "model"), "--static"]
        fit += [str(d / "static.parquet"), "--max-steps", "20", "--folds", "1", "-q"]
        run(fit, "off")
        pred = ["predict", str(d / "model"), str(d / "hist.parquet"), "--h", "12"]
        pred += ["--static", str(d / "static.parquet"), "--level", "80", "-q", "--overwrite"]
        off = run([*pred, "-o", str(d / "a.parquet")], "off")
        cache = str(d / "cache")
        first = run([*pred, "-o", str(d / "b.parquet")], cache)
        second = run([*pred, "-o", str(d / "c.parquet")], cache)
    print(f"s5ts {s5ts.__version__}: one `s5ts predict`, {args.patients} patients")
    print("                      wall s   compiling s   reading the cache s")
    for name, (wall, comp, read) in (
        ("cache off", off),
        ("cache, first run", first),
        ("cache, second run", second),
    ):
        print(f"  {name:<18} {wall:8.2f} {comp:13.2f} {read:20.2f}")
    second_total = second[1] + second[2]
    print(
        f"compilation in the second process: {second_total:.2f} s against {first[1]:.2f} s "
        f"({first[1] / max(second_total, 1e-9):.1f}x lower)"
    )


if __name__ == "__main__":
    main()
