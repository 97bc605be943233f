"""Accuracy and interval calibration of S5Forecaster on held-out synthetic ICU series.

Fits on `--n-train` simulated patients (48 h each), forecasts hours 24-48 of
`--n-test` other patients from their first 24 h, and reports per-variable-then-mean MSE /
MAE (standardised units) against LOCF and the per-patient mean, the empirical coverage of
the 80 % / 95 % intervals and the best validation NLL. `--discretisation` compares rules,
`--loss` training losses (`nll`, or `mse` for the mean with the NLL for the scale).

    python benchmarks/calibration.py [--discretisation ZOH Impulse] [--loss nll mse] [--max-steps N]
"""

import argparse
import json
import time

import numpy as np

import s5ts
from s5ts.datasets import synthetic_vitals
from s5ts.demo import coverage, holdout_scores


def run(
    *,
    n_train=256,
    n_test=64,
    max_steps=600,
    discretisation="ZOH",
    seed=0,
    data_seed=0,
    **hyperparameters,
):
    df, static_df = synthetic_vitals(n_train + n_test, seed=data_seed)
    ids = np.sort(df["unique_id"].unique())
    test_ids = set(ids[n_train:])
    train, test = df[~df["unique_id"].isin(test_ids)], df[df["unique_id"].isin(test_ids)]
    # One network (folds=1), as when the figures in benchmarks/README.md were recorded.
    params = dict(hidden_size=32, state_size=32, blocks=2, n_layers=2, horizon=24.0, folds=1)
    params |= hyperparameters
    model = s5ts.S5Forecaster(
        discretisation=getattr(s5ts, discretisation)(),
        max_steps=max_steps,
        random_state=seed,
        verbose=False,
        **params,
    )
    start = time.perf_counter()
    model.fit(train, static_df)
    fit_s = time.perf_counter() - start
    scores, fc = holdout_scores(model, test, static_df, level=[80, 95])
    cov = coverage(fc, model.target_cols_, [80, 95])
    val = min((v for _, v in model.history_["val_loss"]), default=float("nan"))
    return {
        "discretisation": discretisation,
        "loss": model.loss,
        "seed": seed,
        "fit_seconds": round(fit_s, 1),
        "steps": len(model.history_["train_loss"]),
        "best_val_nll": round(val, 4),
        "mse": {k: round(v["mse"], 4) for k, v in scores.items()},
        "mae": {k: round(v["mae"], 4) for k, v in scores.items()},
        "coverage": {f"{k}%": round(v, 3) for k, v in cov.items()},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=256)
    parser.add_argument("--n-test", type=int, default=64)
    parser.add_argument("--max-steps", type=int, default=600)
    parser.add_argument("--discretisation", nargs="+", default=["ZOH"])
    parser.add_argument("--loss", nargs="+", default=["nll"], choices=["nll", "mse"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    for rule in args.discretisation:
        for loss in args.loss:
            for seed in args.seeds:
                result = run(
                    n_train=args.n_train,
                    n_test=args.n_test,
                    max_steps=args.max_steps,
                    discretisation=rule,
                    seed=seed,
                    loss=loss,
                )
                print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
