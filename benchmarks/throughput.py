"""Prediction throughput on PhysioNet-sized histories (series per minute, after compiling).

Synthetic patients shaped like PhysioNet 2012 stays: about 100 events over 48 h each,
37 variables, each observed at ~15 % of events (every variable at the first event). A
forecaster with the default architecture is fitted for a couple of steps (the weights do
not change the speed), then `predict` forecasts `--h` hourly steps after every history.
The first call on one batch is reported as the compile time; the throughput is the best
of `--repeat` calls over all series.

    .venv/bin/python benchmarks/throughput.py --n-series 10000
"""

import argparse
import json
import time

import numpy as np
import pandas as pd

from s5ts import S5Forecaster


def physionet_like(
    n: int, *, n_vars: int = 37, events: int = 100, observed: float = 0.15, seed: int = 0
) -> pd.DataFrame:
    """Long frame: `n` series of `events` +- 20 % events at distinct minutes over 48 h, each
    variable observed with probability `observed` (always at a series' first event)."""
    rng = np.random.default_rng(seed)
    k = rng.integers(int(events * 0.8), int(events * 1.2) + 1, n)
    ids = np.repeat(np.arange(n), k)
    minutes = np.concatenate([np.sort(rng.choice(48 * 60, m, replace=False)) for m in k])
    vals = rng.normal(size=(len(ids), n_vars)).astype(np.float32)
    vals[rng.random(vals.shape) >= observed] = np.nan
    first = np.r_[0, np.cumsum(k)[:-1]]
    vals[first] = rng.normal(size=(n, n_vars))
    df = pd.DataFrame(vals.astype(np.float64), columns=[f"v{j:02d}" for j in range(n_vars)])
    df.insert(0, "ds", minutes / 60.0)
    df.insert(0, "unique_id", ids)
    return df


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-series", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--h", type=int, default=12, help="hourly steps forecast per series")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--state-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)

    df = physionet_like(args.n_series, events=args.events)
    train = df[df["unique_id"] < 256]
    model = S5Forecaster(
        hidden_size=args.hidden_size,
        state_size=args.state_size,
        batch_size=args.batch_size,
        horizon=24.0,
        max_steps=2,
        val_size=0.0,
        verbose=False,
    ).fit(train)

    start = time.perf_counter()
    model.predict(df[df["unique_id"] < args.batch_size], h=args.h, freq=1.0)
    compile_s = time.perf_counter() - start

    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        out = model.predict(df, h=args.h, freq=1.0)
        times.append(time.perf_counter() - start)
    assert len(out) == args.n_series * args.h
    best = min(times)
    result = {
        "n_series": args.n_series,
        "events_per_series": round(len(df) / args.n_series, 1),
        "n_vars": 37,
        "padded_length": model.max_len_,
        "h": args.h,
        "batch_size": args.batch_size,
        "compile_s": round(compile_s, 2),
        "predict_s": [round(t, 2) for t in times],
        "series_per_min": round(args.n_series / best * 60),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
