"""Out-of-core prediction: peak memory of `s5ts predict --chunk-size` stays flat as the
history file grows.

Writes Parquet files of synthetic PhysioNet-shaped patients (about 100 events, 37
variables; `--observed 1.0` by default, so that the file's size on disk is about its
decoded size) at ×1 and ×4 `--base-series`, sorted by id, fits a tiny model on a few
patients with `s5ts fit`, then runs

    python -m s5ts predict MODEL FILE --h 12 --freq 1 --chunk-size N -o OUT.parquet -q

for each file in a fresh child process and reads the child's peak RSS from `os.wait4`.
Files are deleted at the end unless `--keep`.

    .venv/bin/python benchmarks/out_of_core.py
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from throughput import physionet_like


_PART = 5_000  # series generated and written at a time, so writing stays small too
TINY = "--hidden-size 8 --state-size 8 --blocks 1 --n-layers 1 --batch-size 64 --max-steps 2"


def write_patients(path: Path, n_series: int, observed: float, row_group: int) -> int:
    """Write `n_series` patients sorted by id; returns the row count."""
    writer, rows = None, 0
    for start in range(0, n_series, _PART):
        n = min(_PART, n_series - start)
        part = physionet_like(n, observed=observed, seed=start)
        part["unique_id"] += start
        table = pa.Table.from_pandas(part, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=row_group)
        rows += len(part)
    writer.close()
    return rows


def run_child(cmd: list[str]) -> tuple[float, float]:
    """Run `cmd`; returns (wall seconds, peak RSS in MiB) of that child alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024  # Linux reports KiB


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-series", type=int, default=30_000)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--chunk-size", type=int, default=200)
    parser.add_argument("--observed", type=float, default=1.0)
    parser.add_argument("--row-group", type=int, default=50_000, help="rows per row group")
    parser.add_argument("--workdir", help="where to write the files (default: a temp dir)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    root = Path(args.workdir or tempfile.mkdtemp(prefix="s5ts_ooc_"))
    root.mkdir(parents=True, exist_ok=True)
    s5ts = [sys.executable, "-m", "s5ts"]
    train = root / "train.parquet"
    write_patients(train, 256, args.observed, args.row_group)
    model = root / "model"
    run_child([*s5ts, "fit", str(train), str(model), "--horizon", "24", "-q", *TINY.split()])

    results = []
    for scale in args.scales:
        n = scale * args.base_series
        path = root / f"patients_x{scale}.parquet"
        rows = write_patients(path, n, args.observed, args.row_group)
        out = root / f"forecasts_x{scale}.parquet"
        cmd = [*s5ts, "predict", str(model), str(path), "--h", "12", "--freq", "1"]
        cmd += ["--chunk-size", str(args.chunk_size), "-o", str(out), "-q"]
        wall, rss = run_child(cmd)
        assert pq.ParquetFile(out).metadata.num_rows == 12 * n
        decoded = rows * len(pq.ParquetFile(path).schema_arrow) * 8
        results.append(
            {
                "scale": scale,
                "series": n,
                "rows": rows,
                "file_mib": round(path.stat().st_size / 2**20),
                "decoded_mib": round(decoded / 2**20),
                "peak_rss_mib": round(rss),
                "file_over_peak_rss": round(path.stat().st_size / 2**20 / rss, 1),
                "wall_s": round(wall, 1),
                "series_per_min": round(n / wall * 60),
            }
        )
        print(json.dumps(results[-1]), flush=True)
        if not args.keep:
            path.unlink()
            out.unlink()


if __name__ == "__main__":
    main()
