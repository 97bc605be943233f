"""Peak memory of `fit` against the size of its input frame.

PhysioNet-shaped synthetic stays (37 variables, ~75 events over 48 h, each variable seen
at ~15 % of events; `throughput.physionet_like`) at several sizes, each fitted in a
fresh process for a few steps (memory does not grow with steps). The child reports its
RSS just before `fit`, with the frame built, and its peak RSS during `fit` (the kernel's
high-water mark, reset once the frame is built: Linux only); the figures of merit are
the peak above that baseline per MB of the input frame (`DataFrame.memory_usage`), and
the growth of that peak per MB of frame between the sizes (fixed costs, such as JAX
compiling the network, cancel out).

Usage, from the repository root::

    .venv/bin/python benchmarks/fit_memory.py --stays 3000 12000
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path


_CHILD = """
import json, sys
sys.path.insert(0, {here!r})
from throughput import physionet_like
import s5ts
stays, network = int(sys.argv[1]), sys.argv[2]
df = physionet_like(stays, events=75)
frame_mb = df.memory_usage(deep=True).sum() / 2**20
def status_mb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
# Reset the peak (VmHWM) so that building the frame does not count (Linux).
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status_mb("VmRSS")
net = s5ts.VariableClocks() if network == "variable-clocks" else s5ts.SharedClock()
s5ts.S5Forecaster(max_steps=5, eval_every=5, horizon=24.0, network=net, verbose=False).fit(df)
peak = status_mb("VmHWM")
print(json.dumps(dict(stays=stays, frame_mb=frame_mb, before_mb=before, peak_mb=peak)))
"""


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stays", type=int, nargs="+", default=[3000, 12000])
    p.add_argument("--network", choices=["shared-clock", "variable-clocks"], default="shared-clock")
    args = p.parse_args(argv)
    child = _CHILD.format(here=str(Path(__file__).resolve().parent))
    print("stays    frame MB   RSS before fit MB   peak MB   peak above / frame")
    rows = []
    for n in args.stays:
        out = subprocess.run(
            [sys.executable, "-c", child, str(n), args.network],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        above = r["peak_mb"] - r["before_mb"]
        rows.append((r["frame_mb"], above))
        print(
            f"{n:>6} {r['frame_mb']:10.1f} {r['before_mb']:19.0f} {r['peak_mb']:9.0f} "
            f"{above / r['frame_mb']:12.2f} MB per MB"
        )
    if len(rows) >= 2:
        (f0, a0), (f1, a1) = rows[0], rows[-1]
        print(f"growth of the peak: {(a1 - a0) / (f1 - f0):.2f} MB per MB of frame")


if __name__ == "__main__":
    main()
