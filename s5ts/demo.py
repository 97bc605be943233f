"""Demo: fit on synthetic ICU vitals, forecast the next 24 h, compare with simple baselines.

Run `python -m s5ts.demo`. It trains a small S5Forecaster on simulated patients (48 h
each), forecasts hours 24-48 of held-out patients from their first 24 h, prints a
forecast table and the test error against carrying the last value forward (LOCF) and the
per-patient mean, and saves a plot to `demo_forecast.png`. About a minute on 2 CPU cores.
"""

import argparse
import time

import numpy as np
import pandas as pd

from ._plot import plot_forecast
from .datasets import synthetic_vitals
from .forecaster import S5Forecaster


def split_history(df: pd.DataFrame, cutoff: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows up to `cutoff` (the history) and after it (the truth to forecast)."""
    return df[df["ds"] <= cutoff], df[df["ds"] > cutoff]


def holdout_scores(model: S5Forecaster, df, static_df, cutoff: float = 24.0, level=None):
    """Per-variable-then-mean MSE / MAE (in training-standardised units) on observed
    values after `cutoff`, for the model, LOCF and the per-series history mean.

    Returns (scores dict, forecast frame with the truth alongside).
    """
    hist, future = split_history(df, cutoff)
    fc = model.predict(hist, future[["unique_id", "ds"]], static_df=static_df, level=level)
    targets = list(model.target_cols_)
    mean, std = model.scaler_.mean, model.scaler_.std
    truth = future[targets].to_numpy()
    obs = ~np.isnan(truth)
    last = hist.groupby("unique_id")[targets].last()  # pandas `last` skips NaN: LOCF
    avg = hist.groupby("unique_id")[targets].mean()
    preds = {
        "S5Forecaster": fc[targets].to_numpy(),
        "LOCF": last.loc[future["unique_id"]].to_numpy(),
        "series mean": avg.loc[future["unique_id"]].to_numpy(),
    }
    scores = {}
    for name, p in preds.items():
        p = np.where(np.isnan(p), mean, p)  # never seen: the training mean
        err = np.where(obs, (p - np.nan_to_num(truth)) / std, np.nan)
        scores[name] = {
            "mse": float(np.nanmean(np.nanmean(err**2, axis=0))),
            "mae": float(np.nanmean(np.nanmean(np.abs(err), axis=0))),
        }
    fc = fc.reset_index(drop=True)
    for j, t in enumerate(targets):
        fc[f"{t}-y"] = truth[:, j]
    return scores, fc


def coverage(forecast: pd.DataFrame, targets, levels) -> dict[int, float]:
    """Share of observed truths inside each central interval, pooled over targets."""
    out = {}
    for lv in levels:
        inside, n = 0, 0
        for t in targets:
            y = forecast[f"{t}-y"].to_numpy()
            ok = ~np.isnan(y)
            lo, hi = forecast[f"{t}-lo-{lv}"].to_numpy(), forecast[f"{t}-hi-{lv}"].to_numpy()
            inside += int(((y >= lo) & (y <= hi))[ok].sum())
            n += int(ok.sum())
        out[lv] = inside / max(n, 1)
    return out


def main(argv=None, prog: str | None = None) -> None:
    """Run the demo; `argv` as on the command line, `prog` the name its help shows."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--n-train", type=int, default=256, help="patients to train on")
    parser.add_argument("--n-test", type=int, default=64, help="patients to forecast")
    parser.add_argument("--max-steps", type=int, default=400, help="most training steps")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    parser.add_argument("--plot", default="demo_forecast.png", help="where to save the plot")
    args = parser.parse_args(argv)

    df, static_df = synthetic_vitals(args.n_train + args.n_test, seed=args.seed)
    ids = np.sort(df["unique_id"].unique())
    test_ids = set(ids[args.n_train :])
    train = df[~df["unique_id"].isin(test_ids)]
    test = df[df["unique_id"].isin(test_ids)]
    print(f"{len(ids)} synthetic patients ({args.n_train} train, {args.n_test} test), 48 h each")

    start = time.perf_counter()
    model = S5Forecaster(
        hidden_size=32,
        state_size=32,
        blocks=2,
        n_layers=2,
        horizon=24.0,
        max_steps=args.max_steps,
        folds=1,  # one network keeps the demo under a minute; the default cross-fits five here
        random_state=args.seed,
    ).fit(train, static_df)
    print(f"fitted in {time.perf_counter() - start:.0f} s ({model.fitted_.training_summary()})")

    scores, fc = holdout_scores(model, test, static_df, level=[80, 95])
    hist, _ = split_history(test, 24.0)
    few = sorted(test_ids)[:3]
    table = model.predict(
        hist[hist["unique_id"].isin(few)], h=6, freq=4.0, static_df=static_df, level=[80]
    )
    with pd.option_context("display.width", 120, "display.max_columns", 8):
        print("\nnext 24 h, every 4 h (first targets shown):")
        print(table.iloc[:, :8].round(2).to_string(index=False))
    print("\nheld-out hours 24-48, standardised units (lower is better):")
    for name, s in scores.items():
        print(f"  {name:<13} MSE {s['mse']:.4f}  MAE {s['mae']:.4f}")
    cov = coverage(fc, model.target_cols_, [80, 95])
    print("interval coverage: " + ", ".join(f"{lv}%: {c:.1%}" for lv, c in cov.items()))

    fig = plot_forecast(test, fc, ids=few, target="HR", level=[80, 95])
    fig.savefig(args.plot, dpi=100)
    print(f"plot saved to {args.plot}")


if __name__ == "__main__":
    main()
