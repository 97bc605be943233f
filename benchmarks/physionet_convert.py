"""Time the PhysioNet 2012 conversion (all 12,000 stays) and report peak RSS.

Usage: python benchmarks/physionet_convert.py [DATA_DIR] [--repeat N]
DATA_DIR defaults to ../shared/data/physionet2012 relative to the repository root.
"""

import argparse
import importlib.util
import resource
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]


def _converter():
    # Loaded by path: the top-level ``datasets`` folder is not an installed package.
    spec = importlib.util.spec_from_file_location(
        "s5ts_physionet2012", ROOT / "datasets" / "physionet2012.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", nargs="?", default=ROOT.parent / "shared" / "data" / "physionet2012")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    pn = _converter()
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        df, static_df, report = pn.load_physionet2012(args.data, return_report=True)
        times.append(time.perf_counter() - t0)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"stays={len(static_df)} rows={len(df)} cells={int(df.iloc[:, 2:].notna().sum().sum())}")
    print(f"seconds: best={min(times):.2f} all={[round(t, 2) for t in times]}")
    print(f"peak RSS: {peak_mib:.0f} MiB")
    print(report.summary())


if __name__ == "__main__":
    main()
