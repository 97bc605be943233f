"""Peak memory of `fit` against the size of its input frame.

PhysioNet-shaped synthetic stays (37 variables, ~75 events over 48 h, each variable seen
at ~15 % of events; `throughput.physionet_like`) at several sizes, each fitted in a
fresh process for a few steps (memory does not grow with steps). The child reports its
RSS just before `fit` (with the frame built, in memory) and its peak RSS during `fit`
(the kernel's high-water mark, reset just before: Linux only); the figures of merit are
the peak above that baseline per MB of the input frame (`DataFrame.memory_usage`), and
the growth of that peak per MB of frame between the sizes (fixed costs, such as JAX
compiling the network, cancel out).

With `--chunk-size N` one process writes the stays to a Parquet file (sorted by id) and
a fresh one, which never builds the frame, fits from the file N stays at a time
(`fit(path, chunk_size=N)`), for enough steps to draw from every chunk: its peak should
not grow with the file. `--memory-cap MB` runs each fit in a control group capped at
that much memory (the kernel kills a process that needs more; Linux, root).

With `--physionet` it measures the PhysioNet 2012 fit of `physionet.py` (the recorded
configuration, `--steps` steps) as a user's process would hold it: the parent converts
and scales the data as `physionet.py` does and writes the training and validation stays
to Parquet; a fresh child reads only those (and frees what the Parquet reader's memory
pool holds beyond the frames), fits, and reports its RSS before `fit`, the fit's peak and
the whole process's peak (reading the files included).

Usage, from the repository root::

    .venv/bin/python benchmarks/fit_memory.py --stays 3000 12000
    .venv/bin/python benchmarks/fit_memory.py --stays 3000 12000 --chunk-size 500
    .venv/bin/python benchmarks/fit_memory.py --stays 192000 --chunk-size 500 --memory-cap 1000
    .venv/bin/python benchmarks/fit_memory.py --physionet --steps 300
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


_WRITER = """
import json, os, sys
sys.path.insert(0, {here!r})
from throughput import physionet_like
stays, path = int(sys.argv[1]), sys.argv[2]
df = physionet_like(stays, events=75)
frame_mb = df.memory_usage(deep=True).sum() / 2**20
df.sort_values(["unique_id", "ds"]).to_parquet(path, row_group_size=20_000)
# Out of the page cache: the fit reads the file from disk, into its own (capped) group.
fd = os.open(path, os.O_RDONLY)
os.fsync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)
print(json.dumps(dict(frame_mb=frame_mb, file_mb=os.path.getsize(path) / 2**20)))
"""


_CHILD = """
import json, sys
sys.path.insert(0, {here!r})
from throughput import physionet_like
import s5ts
stays, network, chunk, path = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
if chunk:  # from a Parquet file another process wrote, `chunk` stays at a time
    data = path
else:
    data = physionet_like(stays, events=75)
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
out = dict(before_mb=before, peak_mb=status_mb("VmHWM"), steps=steps)
if not chunk:
    out["frame_mb"] = data.memory_usage(deep=True).sum() / 2**20
print(json.dumps(out))
"""


_PHYSIONET_CHILD = """
import json, sys
import pandas as pd
import pyarrow as pa
import s5ts
folder, steps = sys.argv[1], int(sys.argv[2])
def status_mb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
start = status_mb("VmRSS")  # Python, JAX and s5ts imported
train = pd.read_parquet(folder + "/train.parquet")
val = pd.read_parquet(folder + "/val.parquet")
static = pd.read_parquet(folder + "/static.parquet")
setup = json.load(open(folder + "/setup.json"))
frame_mb = sum(f.memory_usage(deep=True).sum() for f in (train, val, static)) / 2**20
reading_peak = status_mb("VmHWM")  # not ru_maxrss: that counts the forked parent's pages
read_mb = status_mb("VmRSS")
# The frames' columns live in Arrow's pool; what the reader left unused is not the data's.
pa.default_memory_pool().release_unused()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status_mb("VmRSS")
model = s5ts.S5Forecaster(**setup["hyperparameters"], max_steps=steps, verbose=False)
model.fit(train, static_df=static, val_df=val)
fit_peak = status_mb("VmHWM")
process_peak = max(reading_peak, fit_peak)
out = dict(start_mb=start, frame_mb=frame_mb, read_mb=read_mb, before_mb=before)
out |= dict(fit_peak_mb=fit_peak, process_peak_mb=process_peak)
print(json.dumps(out | dict(steps=len(model.history_["train_loss"]))))
"""


def physionet_fit(steps: int) -> None:
    """The PhysioNet fit's memory in a process that holds only its training data."""
    from physionet import recorded_fit

    data = recorded_fit()
    if data is None:
        return
    train, val, static, hyper = data
    hyper["random_state"] = 0
    with tempfile.TemporaryDirectory() as folder:
        train.to_parquet(f"{folder}/train.parquet")
        val.to_parquet(f"{folder}/val.parquet")
        static.to_parquet(f"{folder}/static.parquet")
        with open(f"{folder}/setup.json", "w") as f:
            json.dump({"hyperparameters": hyper}, f)
        del data, train, val, static
        out = subprocess.run(
            [sys.executable, "-c", _PHYSIONET_CHILD, folder, str(steps)],
            check=True,
            capture_output=True,
            text=True,
        )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"PhysioNet 2012, training + validation stays, {r['steps']} steps")
    print(f"  after importing s5ts:        {r['start_mb']:7.0f} MB")
    print(f"  frames (train, val, static): {r['frame_mb']:7.0f} MB")
    print(f"  RSS after reading them:      {r['read_mb']:7.0f} MB")
    print(
        f"  RSS before fit:              {r['before_mb']:7.0f} MB (the reader's unused pool freed)"
    )
    print(
        f"  peak during fit:             {r['fit_peak_mb']:7.0f} MB "
        f"(+{r['fit_peak_mb'] - r['before_mb']:.0f} MB)"
    )
    print(f"  process peak:                {r['process_peak_mb']:7.0f} MB")


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
    p.add_argument(
        "--physionet",
        action="store_true",
        help="the PhysioNet 2012 fit of physionet.py instead of synthetic stays",
    )
    p.add_argument("--steps", type=int, default=300, help="training steps (--physionet)")
    p.add_argument(
        "--memory-cap",
        type=int,
        default=0,
        metavar="MB",
        help="run each fit in a control group capped at this much memory (Linux, root); 0: no cap",
    )
    args = p.parse_args(argv)
    if args.physionet:
        physionet_fit(args.steps)
        return
    here = str(Path(__file__).resolve().parent)
    child, writer = _CHILD.format(here=here), _WRITER.format(here=here)
    print("stays    frame MB   file MB   RSS before fit MB   peak MB   peak above / frame")
    rows = []
    for n in args.stays:
        with tempfile.TemporaryDirectory() as folder:
            path, sizes = f"{folder}/train.parquet", dict(file_mb=0.0)
            if args.chunk_size:
                sizes = _run([writer, str(n), path])
            command = [child, str(n), args.network, str(args.chunk_size), path]
            r = sizes | _run(command, cap_mb=args.memory_cap)
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


def _run(command: list[str], cap_mb: int = 0) -> dict:
    """Run `python -c *command` (under a memory cap if `cap_mb`), return its last line's JSON."""
    group = _memory_group(cap_mb) if cap_mb else None

    def enter():  # in the child, before it runs anything
        with open(f"{group}/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))

    try:
        out = subprocess.run(
            [sys.executable, "-c", *command],
            capture_output=True,
            text=True,
            preexec_fn=enter if group else None,
        )
    finally:
        if group:
            os.rmdir(group)
    if out.returncode:
        killed = " (killed: over the memory cap?)" if out.returncode == -9 else ""
        sys.exit(f"the child failed ({out.returncode}){killed}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _memory_group(cap_mb: int) -> str:
    """A new control group that holds its processes to `cap_mb` of memory (resident
    pages and the page cache they bring in, which the kernel reclaims first; no swap
    where the kernel accounts it): the kernel's out-of-memory killer stops a process
    that needs more. Needs a writable memory controller (cgroup v2 or v1; root, Linux)."""
    limit = str(cap_mb * 2**20)
    v2 = Path("/sys/fs/cgroup")
    # The limit, then the swap limit where there is one (v1: memory + swap, set second).
    if "memory" in _words(v2 / "cgroup.subtree_control"):  # v2, memory delegated
        root, cap, swap = v2, ("memory.max", limit), ("memory.swap.max", "0")
    else:
        root = Path("/sys/fs/cgroup/memory")
        cap, swap = ("memory.limit_in_bytes", limit), ("memory.memsw.limit_in_bytes", limit)
    group = root / f"s5ts-fit-memory-{os.getpid()}"
    try:
        group.mkdir()
        (group / cap[0]).write_text(cap[1])
        if (group / swap[0]).exists():
            (group / swap[0]).write_text(swap[1])
        return str(group)
    except OSError as err:
        if group.exists():
            group.rmdir()
        sys.exit(f"--memory-cap needs a writable cgroup memory controller (root, Linux): {err}")


def _words(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


if __name__ == "__main__":
    main()
