"""Peak memory of `fit` against the size of its input frame.

PhysioNet-shaped synthetic stays (37 variables, ~75 events over 48 h, each variable seen
at ~15 % of events; `throughput.physionet_like`) at several sizes, each fitted in a
fresh process for a few steps (memory does not grow with steps). The child reports its
RSS just before `fit`, with the frame built, and its peak RSS during `fit` (the kernel's
high-water mark, reset once the frame is built: Linux only); the figures of merit are
the peak above that baseline per MB of the input frame (`DataFrame.memory_usage`), and
the growth of that peak per MB of frame between the sizes (fixed costs, such as JAX
compiling the network, cancel out).

With `--chunk-size N` each child writes its stays to a Parquet file (sorted by id),
drops the frame and fits from the file N stays at a time
(`fit(path, chunk_size=N)`), for enough steps to draw from every chunk: its peak should
not grow with the file.

Usage, from the repository root::

    .venv/bin/python benchmarks/fit_memory.py --stays 3000 12000
    .venv/bin/python benchmarks/fit_memory.py --stays 3000 12000 --chunk-size 500
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path


_CHILD = """
import gc, json, os, sys, tempfile
sys.path.insert(0, {here!r})
from throughput import physionet_like
import s5ts
stays, network, chunk = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
df = physionet_like(stays, events=75)
frame_mb = df.memory_usage(deep=True).sum() / 2**20
data, file_mb = df, 0.0
if chunk:  # from a Parquet file, `chunk` stays at a time: the frame is not kept
    path = os.path.join(tempfile.mkdtemp(), "train.parquet")
    df.sort_values(["unique_id", "ds"]).to_parquet(path, row_group_size=20_000)
    data, file_mb = path, os.path.getsize(path) / 2**20
    del df
    gc.collect()
def status_mb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
# Reset the peak (VmHWM) so that building the frame does not count (Linux).
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status_mb("VmRSS")
net = s5ts.VariableClocks() if network == "variable-clocks" else s5ts.SharedClock()
# Chunked: enough steps to draw from every chunk (one chunk's worth of batches each).
steps = 5 if not chunk else -(-stays // chunk) * -(-chunk // 32)
est = s5ts.S5Forecaster(max_steps=steps, eval_every=steps, horizon=24.0, network=net, verbose=False)
est.fit(data, chunk_size=chunk or None)
peak = status_mb("VmHWM")
out = dict(stays=stays, frame_mb=frame_mb, file_mb=file_mb, before_mb=before, peak_mb=peak)
print(json.dumps(out | dict(steps=steps)))
"""


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stays", type=int, nargs="+", default=[3000, 12000])
    p.add_argument("--network", choices=["shared-clock", "variable-clocks"], default="shared-clock")
    p.add_argument(
        "--chunk-size",
        type=int,
        default=0,
        help="fit from a Parquet file this many stays at a time (0: the frame, in memory)",
    )
    args = p.parse_args(argv)
    child = _CHILD.format(here=str(Path(__file__).resolve().parent))
    print("stays    frame MB   file MB   RSS before fit MB   peak MB   peak above / frame")
    rows = []
    for n in args.stays:
        out = subprocess.run(
            [sys.executable, "-c", child, str(n), args.network, str(args.chunk_size)],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        above = r["peak_mb"] - r["before_mb"]
        rows.append((r["frame_mb"], above))
        print(
            f"{n:>6} {r['frame_mb']:10.1f} {r['file_mb']:9.1f} {r['before_mb']:19.0f} "
            f"{r['peak_mb']:9.0f} "
            f"{above / r['frame_mb']:12.2f} MB per MB"
        )
    if len(rows) >= 2:
        (f0, a0), (f1, a1) = rows[0], rows[-1]
        print(f"growth of the peak: {(a1 - a0) / (f1 - f0):.2f} MB per MB of frame")


if __name__ == "__main__":
    main()
