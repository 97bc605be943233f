"""Small-data benchmark: the default S5Forecaster on PhysioNet 2012 bedside vitals.

How well does the forecaster do when the user has only 50, 100 or 400 stays to train on?

Variables: the bedside vitals only, the ten channels monitored continuously or near
continuously at the bedside: HR; invasive arterial SysABP, DiasABP, MAP; non-invasive
NISysABP, NIDiasABP, NIMAP; RespRate, SaO2, Temp. The laboratory values, GCS, FiO2,
MechVent, Urine and Weight are left out. Rows where none of the ten is observed are
dropped. A stay is *eligible* when it has at least one vitals observation in hours
[0, 24) and at least one in [24, 48]. The data are loaded with the converter's defaults
(``load_physionet2012(data_dir)``, so the ``-1`` placeholders it keeps stay as values).

Protocol:

- Test stays: 1,000 eligible stays chosen once, ``default_rng(TEST_SEED).choice``
  (``TEST_SEED = 2012``), the same for every training size and draw.
- Training stays: for size ``n`` and draw ``d`` (0, 1, ...), ``n`` stays drawn without
  replacement from the other eligible stays with ``default_rng(1000 * n + d)``.
- Task: observe each test stay's hours 0-24 (``ds < 24``) and forecast every observed
  (time, variable) value with ``24 <= ds <= 48``; the query rows are the future rows'
  ``(unique_id, ds)``, the truth their values (NaN where not observed).
- Model: ``s5ts.S5Forecaster()`` with its default hyperparameters, only
  ``random_state=d`` and ``verbose`` set (any hyperparameter flag, e.g.
  ``--max-steps 500``, changes it for an ablation, which is then not the default
  configuration). No static features. It is fitted on the
  training stays' full 0-48 h series and predicts the test stays from their 0-24 h
  history at the query rows. ``ds`` is in hours.
- Baselines on the same targets: LOCF (the stay's last value of the variable before
  24 h), series mean (the mean of the stay's values before 24 h) and the training mean
  (the training stays' mean of the variable). LOCF and series mean fall back to the
  training mean for a variable the stay never observed before 24 h.
- Score: per variable, the MSE (and MAE) over the observed test targets in z-units of
  the training stays (mean and population std of each variable over the training
  stays' observed values, all hours), then the macro average over the variables that
  have targets.

Usage, from the repository root::

    .venv/bin/python benchmarks/small_data.py            # 3 sizes x 5 draws, 15 fits
    .venv/bin/python benchmarks/small_data.py --quick    # 50 stays, 1 draw, 200 test

Prints one line per draw as it runs, then per training size the mean [min, max] over
draws of each MSE, the model's relative change against the better of LOCF and series
mean (computed from the means over draws) and the fit seconds. Writes
``benchmarks/results/small_data.json`` (a ``--quick`` run writes nothing unless ``--out``
is given): keyed by training size ("50", "100", "400"), each with per-draw lists
``model``, ``locf``, ``series_mean``, ``train_mean`` (MSE), ``mae_*``, ``fit_seconds``
and more, plus ``meta``.
"""

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import s5ts
from s5ts.cli import add_hyperparameters, hyperparameters_from


ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "physionet2012"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "small_data.json"
VITALS = [
    "HR",
    "SysABP",
    "DiasABP",
    "MAP",
    "NISysABP",
    "NIDiasABP",
    "NIMAP",
    "RespRate",
    "SaO2",
    "Temp",
]
HISTORY_HOURS = 24.0
END_HOURS = 48.0
TEST_SEED = 2012
METHODS = ["model", "locf", "series_mean", "train_mean"]


def load_converter():
    """`datasets/physionet2012.py`, loaded by path (``datasets`` is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "s5ts_physionet2012", ROOT / "datasets" / "physionet2012.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def load_vitals(data_dir: Path) -> pd.DataFrame:
    """The vitals columns of every stay, rows with at least one vital observed."""
    df, _ = load_converter().load_physionet2012(data_dir)
    df = df[["unique_id", "ds", *VITALS]]
    return df[df[VITALS].notna().any(axis=1)].reset_index(drop=True)


def eligible_ids(df: pd.DataFrame) -> np.ndarray:
    """Stays with a vitals row in [0, 24) h and one in [24, 48] h (sorted)."""
    before = df.loc[df["ds"] < HISTORY_HOURS, "unique_id"].unique()
    after = df.loc[(df["ds"] >= HISTORY_HOURS) & (df["ds"] <= END_HOURS), "unique_id"].unique()
    return np.intersect1d(before, after)


def choose_test(ids: np.ndarray, n_test: int) -> tuple[np.ndarray, np.ndarray]:
    """(test, pool): `n_test` stays drawn once with TEST_SEED, and the rest."""
    if n_test >= len(ids):
        raise SystemExit(f"--test-stays {n_test} leaves no training stays ({len(ids)} eligible)")
    test = np.sort(np.random.default_rng(TEST_SEED).choice(ids, n_test, replace=False))
    return test, np.setdiff1d(ids, test)


def draw_train(pool: np.ndarray, n: int, draw: int) -> np.ndarray:
    """Draw `draw` of `n` training stays: ``default_rng(1000 * n + draw)``."""
    if n > len(pool):
        raise SystemExit(f"cannot draw {n} training stays from {len(pool)}")
    return np.sort(np.random.default_rng(1000 * n + draw).choice(pool, n, replace=False))


def test_task(df: pd.DataFrame, test_ids: np.ndarray):
    """History rows (ds < 24), query rows (24 <= ds <= 48) and their truth (R, C)."""
    part = df[df["unique_id"].isin(test_ids)]
    hist = part[part["ds"] < HISTORY_HOURS].reset_index(drop=True)
    future = part[(part["ds"] >= HISTORY_HOURS) & (part["ds"] <= END_HOURS)]
    queries = future[["unique_id", "ds"]].reset_index(drop=True)
    return hist, queries, future[VITALS].to_numpy(np.float64)


def z_stats(train_df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std of each vital over the training stays' observations."""
    mean = train_df[VITALS].mean().to_numpy(np.float64)
    std = train_df[VITALS].std(ddof=0).to_numpy(np.float64)
    bad = [v for v, s in zip(VITALS, std, strict=True) if not s > 0]
    if bad:  # no or constant observations: z-units undefined
        raise RuntimeError(f"training stays have no spread for {bad}")
    return mean, std


def score(pred: np.ndarray, truth: np.ndarray, mean, std) -> dict:
    """Per-variable MSE / MAE in z-units over observed targets, and their macro average."""
    obs = ~np.isnan(truth)
    err = np.where(obs, (pred - np.nan_to_num(truth)) / std, 0.0)
    n = obs.sum(0)
    has = n > 0
    mse = (err**2).sum(0)[has] / n[has]
    mae = np.abs(err).sum(0)[has] / n[has]
    names = [v for v, h in zip(VITALS, has, strict=True) if h]
    return {
        "mse": float(mse.mean()),
        "mae": float(mae.mean()),
        "per_variable": {v: float(m) for v, m in zip(names, mse, strict=True)},
    }


def baseline_predictions(hist: pd.DataFrame, queries: pd.DataFrame, mean) -> dict:
    """LOCF, series mean and training mean at the query rows, (R, C) each."""
    g = hist.groupby("unique_id", sort=True)[VITALS]
    last = g.last().reindex(queries["unique_id"]).to_numpy(np.float64)  # last non-NaN
    avg = g.mean().reindex(queries["unique_id"]).to_numpy(np.float64)
    fallback = np.broadcast_to(mean, last.shape)
    return {
        "locf": np.where(np.isnan(last), fallback, last),
        "series_mean": np.where(np.isnan(avg), fallback, avg),
        "train_mean": fallback,
    }


def fit_predict(train_df, hist, queries, draw: int, args) -> tuple[np.ndarray, dict]:
    """Fit the default forecaster on the training stays, predict at the query rows."""
    model = s5ts.S5Forecaster(random_state=draw, verbose=args.verbose, **args.changed)
    t0 = time.perf_counter()
    model.fit(train_df)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = model.predict(hist, queries)
    predict_s = time.perf_counter() - t0
    if not (
        np.array_equal(out["unique_id"].to_numpy(), queries["unique_id"].to_numpy())
        and np.allclose(out["ds"].to_numpy(), queries["ds"].to_numpy())
    ):
        raise RuntimeError("predict returned rows out of the query order")
    if list(model.target_cols_) != VITALS:
        print(f"  note: model targets {list(model.target_cols_)}", flush=True)
    pred = out[VITALS].to_numpy(np.float64)
    if np.isnan(pred).any():
        print(f"  warning: {int(np.isnan(pred).sum())} NaN model predictions", flush=True)
    info = {
        "fit_seconds": fit_s,
        "predict_seconds": predict_s,
        # Steps and best step of each network: lists when the fit trained one per fold.
        "networks": model.architecture_.members,
        "steps": _per_network(model.history_.get("train_loss", []), len),
        "best_step": model.history_.get("best_step"),
    }
    return pred, info


def _per_network(value, f):
    """`f(value)`, or `[f(v) for v in value]` when the fit kept one history per network."""
    nested = bool(value) and isinstance(value[0], list)
    return [f(v) for v in value] if nested else f(value)


def run_draw(df, pool, n: int, draw: int, task, args) -> dict:
    """One training draw: the model and the three baselines scored on the test targets."""
    hist, queries, truth = task
    train_ids = draw_train(pool, n, draw)
    train_df = df[df["unique_id"].isin(train_ids)].reset_index(drop=True)
    mean, std = z_stats(train_df)
    preds = baseline_predictions(hist, queries, mean)
    preds["model"], info = fit_predict(train_df, hist, queries, draw, args)
    scores = {m: score(preds[m], truth, mean, std) for m in METHODS}
    return {"scores": scores, "train_rows": len(train_df), **info}


def rel_change(model: float, locf: float, series_mean: float) -> float:
    """The model's MSE relative to the better of LOCF and series mean (negative = better)."""
    best = min(locf, series_mean)
    return (model - best) / best


def draw_line(n: int, draw: int, r: dict) -> str:
    s = {m: r["scores"][m]["mse"] for m in METHODS}
    rel = rel_change(s["model"], s["locf"], s["series_mean"])
    return (
        f"n={n:<4d} draw {draw}  MSE model {s['model']:.4f}  locf {s['locf']:.4f}  "
        f"series_mean {s['series_mean']:.4f}  train_mean {s['train_mean']:.4f}  "
        f"({rel * 100:+.1f} %)  fit {r['fit_seconds']:.0f} s  steps {r['steps']}  "
        f"best {r['best_step']}"
    )


def collect(runs: list[dict]) -> dict:
    """One training size's JSON entry: per-draw lists."""
    entry = {m: [r["scores"][m]["mse"] for r in runs] for m in METHODS}
    entry |= {f"mae_{m}": [r["scores"][m]["mae"] for r in runs] for m in METHODS}
    for key in (
        "fit_seconds",
        "predict_seconds",
        "networks",
        "steps",
        "best_step",
        "train_rows",
    ):
        entry[key] = [r[key] for r in runs]
    entry["rel_change"] = [
        rel_change(
            r["scores"]["model"]["mse"],
            r["scores"]["locf"]["mse"],
            r["scores"]["series_mean"]["mse"],
        )
        for r in runs
    ]
    entry["per_variable_mse"] = [{m: r["scores"][m]["per_variable"] for m in METHODS} for r in runs]
    return entry


def cell(values) -> str:
    v = np.asarray(values, dtype=np.float64)
    return f"{v.mean():.4f} [{v.min():.4f}, {v.max():.4f}]"


def table(results: dict) -> str:
    """Mean [min, max] over draws per training size."""
    head = ["n", "draws", *METHODS, "vs best(locf, series_mean)", "fit s"]
    rows = []
    for n, e in results.items():
        means = {m: float(np.mean(e[m])) for m in METHODS}
        rel = rel_change(means["model"], means["locf"], means["series_mean"])
        fit = np.asarray(e["fit_seconds"])
        rows.append(
            [n, str(len(e["model"])), *(cell(e[m]) for m in METHODS), f"{rel * 100:+.1f} %"]
            + [f"{fit.mean():.0f} [{fit.min():.0f}, {fit.max():.0f}]"]
        )
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 400])
    p.add_argument("--draws", type=int, default=5, help="training draws per size")
    p.add_argument("--test-stays", type=int, default=1000)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="PhysioNet 2012 folder")
    p.add_argument("--out", type=Path, default=None, help=f"results JSON (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help="50 stays, 1 draw, 200 test stays")
    p.add_argument("--verbose", action="store_true", help="the forecaster's progress bar")
    add_hyperparameters(
        p.add_argument_group("ablations: hyperparameters changed from the defaults"),
        skip=("random_state",),
    )
    args = p.parse_args(argv)
    args.changed = hyperparameters_from(args, skip=("random_state",))
    if args.quick:
        args.sizes, args.draws, args.test_stays = [50], 1, 200
    elif args.out is None:
        args.out = DEFAULT_OUT
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if not args.data.is_dir():
        print(f"PhysioNet 2012 data not found at {args.data}; nothing to do.")
        return
    if args.changed:
        print(f"WARNING: {args.changed} is not the default configuration")

    t0 = time.perf_counter()
    df = load_vitals(args.data)
    ids = eligible_ids(df)
    test_ids, pool = choose_test(ids, args.test_stays)
    task = test_task(df, test_ids)
    print(
        f"loaded {df['unique_id'].nunique()} stays with vitals, {len(df)} rows in "
        f"{time.perf_counter() - t0:.1f} s; {len(ids)} eligible; test {len(test_ids)} stays, "
        f"{len(task[1])} query rows, {int((~np.isnan(task[2])).sum())} targets",
        flush=True,
    )

    meta = {
        "variables": VITALS,
        "test_stays": len(test_ids),
        "test_seed": TEST_SEED,
        "train_seed": "numpy default_rng(1000 * n + draw)",
        "eligible_stays": len(ids),
        "query_rows": len(task[1]),
        "targets": int((~np.isnan(task[2])).sum()),
        "changed": {k: repr(v) for k, v in args.changed.items()},
        "default_config": not args.changed,
        "s5ts_version": getattr(s5ts, "__version__", None),
        "command": " ".join([".venv/bin/python", "benchmarks/small_data.py", *sys.argv[1:]]),
    }
    results = {}
    for n in args.sizes:
        runs = []
        for draw in range(args.draws):
            runs.append(run_draw(df, pool, n, draw, task, args))
            print(draw_line(n, draw, runs[-1]), flush=True)
            results[str(n)] = collect(runs)
            if args.out is not None:  # rewritten after every draw, so a partial run keeps
                write(args.out, results, meta)
    print()
    print(table(results))
    if args.out is not None:
        print(f"wrote {args.out}")


def write(path: Path, results: dict, meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results | {"meta": meta}, indent=1) + "\n")


if __name__ == "__main__":
    main()
