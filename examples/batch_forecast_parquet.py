"""Batch forecasting over a Parquet file of many patients, with polars.

1. Writes synthetic patients to `patients.parquet` (skipped when `--input` is given: a
   long file with `unique_id`, `ds` and one column per variable).
2. Fits a small forecaster on some patients and saves it (`model/`), as a training job
   would; the batch job below only loads it.
3. Reads the Parquet lazily with polars, keeps each patient's history up to `--cutoff`
   hours, forecasts every 2 h over the next 12 h for all patients at once, and writes
   `forecasts.parquet` (one row per patient and time, mean and 80 % interval).

Run: python examples/batch_forecast_parquet.py [--workdir DIR] (about a minute on 2 CPU
cores; S5TS_EXAMPLE_FAST=1 for a smoke run). Files go to a temporary folder by default.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import polars as pl

import s5ts
from s5ts.datasets import synthetic_vitals


FAST = os.environ.get("S5TS_EXAMPLE_FAST") == "1"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    p.add_argument("--input", type=Path, default=None, help="existing patients Parquet")
    p.add_argument("--patients", type=int, default=60 if FAST else 500)
    p.add_argument("--cutoff", type=float, default=24.0, help="history end, hours")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run(args, args.workdir or Path(tmp))


def run(args, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    src = args.input
    if src is None:
        src = work / "patients.parquet"
        df, static = synthetic_vitals(args.patients, seed=2, frame="polars")
        df.write_parquet(src)
        static.write_parquet(work / "static.parquet")
        print(f"wrote {len(df)} rows of {args.patients} patients to {src.name}")
    static_path = src.with_name("static.parquet")
    static = pl.read_parquet(static_path) if static_path.exists() else None

    # Training job (normally separate): fit on a sample of patients, save.
    frame = pl.scan_parquet(src)
    ids = frame.select(pl.col("unique_id").unique().sort()).collect()["unique_id"]
    fit_ids = ids.sample(min(len(ids), 32 if FAST else 100), seed=0).to_list()
    model = s5ts.S5Forecaster(
        hidden_size=32,
        state_size=32,
        blocks=2,
        horizon=12.0,
        max_steps=20 if FAST else 250,
        eval_every=50,
        random_state=0,
        verbose=False,
    )
    t0 = time.perf_counter()
    model.fit(frame.filter(pl.col("unique_id").is_in(fit_ids)).collect(), static_df=static)
    model.save(work / "model")
    print(f"fitted on {len(fit_ids)} patients in {time.perf_counter() - t0:.0f} s, saved")

    # Batch job: load the model, read the histories, forecast everyone, write the result.
    model = s5ts.S5Forecaster.load(work / "model")
    history = frame.filter(pl.col("ds") <= args.cutoff).collect()
    t0 = time.perf_counter()
    fc = model.predict(history, static_df=static, h=6, freq=2.0, level=[80])
    dt = time.perf_counter() - t0
    out = work / "forecasts.parquet"
    fc.write_parquet(out)
    n = history["unique_id"].n_unique()
    print(f"forecast {len(fc)} rows for {n} patients in {dt:.1f} s -> {out.name}")
    print(fc.select("unique_id", "ds", "HR", "HR-lo-80", "HR-hi-80", "MAP").head(8))


if __name__ == "__main__":
    main()
