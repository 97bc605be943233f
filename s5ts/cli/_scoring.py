"""Scores of a forecasts file against actuals: MSE, MAE and interval coverage per variable.

Forecast rows are matched to actual rows on (id, time); each variable is scored on the
rows where its actual value is observed. The "mean" row averages the variables (each
variable counts once, however often it is measured).
"""

import re

import numpy as np
import polars as pl

from . import _tables


_BAND = re.compile(r"-(lo|hi)-[\d.]+$")  # `<target>-lo-<level>`: what only forecasts hold


def score_files(forecasts, actuals, id_col: str = "unique_id", time_col: str = "ds") -> dict:
    keys = [id_col, time_col]
    # Times are only matched here, as the files hold them: no check that they read as times.
    fc_table = _tables.Table(forecasts, "forecasts file", keys=keys, role="forecasts", times=False)
    # the actuals' columns that are forecast are read as numbers; others as they are
    scored = [c for c in fc_table.columns if c not in keys]
    bands = [c for c in _tables.Table(actuals, "actuals file").columns if _BAND.search(c)]
    if bands and not any(_BAND.search(c) for c in scored):
        raise ValueError(
            f"the actuals file has interval columns ({bands[0]!r}) and the forecasts file "
            "none: are the two swapped? evaluate takes FORECASTS, then ACTUALS"
        )
    truth_table = _tables.Table(actuals, "actuals file", keys=keys, numeric=scored, times=False)
    fc, truth = fc_table.collect(), truth_table.collect()
    for frame, what in ((fc, "the forecasts file"), (truth, "the actuals file")):
        missing = [c for c in keys if c not in frame.columns]
        if missing:
            raise ValueError(f"{what} has no column(s) {missing}; use --id-col / --time-col")
    targets = [c for c in fc.columns if c in truth.columns and c not in keys]
    if not targets:
        raise ValueError("no forecast column has a namesake in the actuals file")
    fc, truth = _align_keys(fc, truth, keys)
    joined = fc.join(truth.select([*keys, *targets]), on=keys, how="inner", suffix="__y")
    if not len(joined):
        raise ValueError(f"no forecast row matches an actual row on ({id_col}, {time_col})")
    per = {t: _score(joined, t, fc.columns) for t in targets}
    scored = [s for s in per.values() if s["n"]]
    mean = {
        "n": sum(s["n"] for s in scored),
        "mse": _avg([s["mse"] for s in scored]),
        "mae": _avg([s["mae"] for s in scored]),
        "coverage": {
            lv: _avg([s["coverage"][lv] for s in scored if lv in s["coverage"]])
            for lv in sorted({lv for s in scored for lv in s["coverage"]}, key=float)
        },
    }
    return {"matched_rows": len(joined), "forecast_rows": len(fc), "variables": per, "mean": mean}


def _align_keys(fc: pl.DataFrame, truth: pl.DataFrame, keys) -> tuple[pl.DataFrame, pl.DataFrame]:
    # A CSV may read float times as integers on one side; compare numbers as floats.
    for k in keys:
        a, b = fc.schema[k], truth.schema[k]
        if a == b:
            continue
        if a.is_numeric() and b.is_numeric():
            fc, truth = (f.with_columns(pl.col(k).cast(pl.Float64)) for f in (fc, truth))
        else:
            raise TypeError(f"column {k!r} is {a} in the forecasts but {b} in the actuals")
    return fc, truth


def _score(joined: pl.DataFrame, target: str, fc_cols) -> dict:
    y = joined[f"{target}__y"].cast(pl.Float64).to_numpy()
    p = joined[target].cast(pl.Float64).to_numpy()
    ok = ~np.isnan(y) & ~np.isnan(p)
    err = p[ok] - y[ok]
    out = {"n": int(ok.sum()), "mse": _avg(err**2), "mae": _avg(np.abs(err)), "coverage": {}}
    pattern = re.compile(rf"^{re.escape(target)}-lo-(.+)$")
    for col in fc_cols:
        m = pattern.match(col)
        if m and f"{target}-hi-{m[1]}" in fc_cols:
            lo = joined[col].cast(pl.Float64).to_numpy()[ok]
            hi = joined[f"{target}-hi-{m[1]}"].cast(pl.Float64).to_numpy()[ok]
            out["coverage"][m[1]] = _avg((y[ok] >= lo) & (y[ok] <= hi))
    out["coverage"] = dict(sorted(out["coverage"].items(), key=lambda kv: float(kv[0])))
    return out


def _avg(x) -> float | None:
    x = np.asarray(x, dtype=float)
    return float(x.mean()) if x.size else None


def format_table(scores: dict) -> str:
    """A plain-text table: one row per variable, then the mean."""
    levels = list(scores["mean"]["coverage"])
    head = ["variable", "n", "MSE", "MAE", *[f"cov {lv}%" for lv in levels]]
    rows = [[name, *_cells(s, levels)] for name, s in scores["variables"].items()]
    rows.append(["mean", *_cells(scores["mean"], levels)])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [head, *rows]
    ]
    note = f"{scores['matched_rows']} of {scores['forecast_rows']} forecast rows matched"
    return "\n".join([*lines, note])


def _cells(s: dict, levels) -> list[str]:
    def num(x, fmt):
        return "-" if x is None else format(x, fmt)

    cov = [num(s["coverage"].get(lv), ".1%") for lv in levels]
    return [str(s["n"]), num(s["mse"], ".4g"), num(s["mae"], ".4g"), *cov]
