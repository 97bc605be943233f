"""The bad-input matrix: every bad call to fit / predict / cross_validation / load raises a
ValueError or TypeError that names the culprit, from s5ts's own checks, before JAX runs.

One tiny model (the shapes of `test_forecaster.py`, so its compilation is shared) is fitted
per module; the datetime twins reuse it too (same shapes), so they only cost training steps.

The `cli-*` rows send bad data through the command line (`main(argv)` in-process): exit
status 2 with its one-line message counts as the error here. Bad arguments and files of the
command line itself are `tests/test_cli.py`'s table.
"""

import contextlib
import io
import json
import os
import re
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import polars as pl
import pytest
from _tiny import TINY

import s5ts
from s5ts._atomic_io import seal
from s5ts.datasets import synthetic_vitals


_START = pd.Timestamp("2024-01-01")


def _as_datetimes(df, tz=None):
    ds = _START + pd.to_timedelta(df["ds"] * 3600, unit="s").dt.round("s")
    return df.assign(ds=ds.dt.tz_localize(tz) if tz else ds)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    df, static_df = synthetic_vitals(12, seed=5, hours=24.0)
    est = s5ts.S5Forecaster(**TINY).fit(df, static_df)
    saved = tmp_path_factory.mktemp("saved") / "m"
    est.save(saved)
    return SimpleNamespace(df=df, static=static_df, est=est, saved=saved, cache={})


def _dt_model(c, tz):
    """A forecaster fitted on the same data with (tz-aware or naive) datetimes, cached."""
    if tz not in c.cache:
        df = _as_datetimes(c.df, tz)
        c.cache[tz] = s5ts.S5Forecaster(**TINY | {"horizon": "12h"}).fit(df, c.static)
    return c.cache[tz]


def _queries(ids, times):
    return pd.DataFrame({"unique_id": ids, "ds": times})


def _set(df, row, col, value):
    df = df.copy()
    df.loc[row, col] = value
    return df


def _unfitted(c, df=None, **kw):
    return s5ts.S5Forecaster(**TINY | kw).fit(c.df if df is None else df, c.static)


def _predict(c, df=None, **kw):
    kw.setdefault("static_df", c.static)
    if "query_df" not in kw:
        kw.setdefault("h", 2)
    return c.est.predict(c.df if df is None else df, **kw)


def _last(c, sid):
    return c.df.loc[c.df["unique_id"] == sid, "ds"].max()


def _tamper(c, tmp, edit=None, weights=None, drop=None, reseal=True):
    """A copy of the saved model with its config edited / weights replaced / a file gone.

    An edited config is resealed (its digests recomputed) unless `reseal=False`: the
    checks behind the digests must hold against a deliberate edit too."""
    out = tmp / "tampered"
    out.mkdir()
    config = json.loads((c.saved / "config.json").read_text())
    if edit is not None:
        edit(config)
        if reseal:
            files = {"model.eqx": (c.saved / "model.eqx").read_bytes()}
            config = seal(config, "config.json", files)
    (out / "config.json").write_text(json.dumps(config))
    blob = (c.saved / "model.eqx").read_bytes()
    (out / "model.eqx").write_bytes(blob if weights is None else weights(blob))
    if drop is not None:
        (out / drop).unlink()
    return s5ts.S5Forecaster.load(out)


def _mixed_times(c):
    df = c.df.head(20).copy().astype({"ds": object})
    df.loc[3, "ds"] = pd.Timestamp("2024-01-01")
    return df


def _cli(*argv):
    """Run the command line; exit status 2 (a clean user error) becomes a ValueError."""
    from s5ts.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main([str(a) for a in argv])
    if code == 2:
        raise ValueError(err.getvalue())
    raise AssertionError(f"exit status {code}: {err.getvalue()}")


def _broken_copy(c, t):
    shutil.copytree(c.saved, t / "broken")
    (t / "broken" / "config.json").write_text("{oops")
    return t / "broken"


def _csv(c, t, df, name="data.csv"):
    df.to_csv(t / name, index=False)
    return t / name


def _hp(**kw):
    return lambda c, tmp: _unfitted(c, **kw)


# (id, call(ctx, tmp_path), expected type, regex the message must match)
CASES = [
    # -- fit: the frame ------------------------------------------------------------------
    ("fit-df-list", lambda c, t: _unfitted(c, df=[1, 2, 3]), TypeError, "df must be a pandas"),
    ("fit-df-numpy", lambda c, t: _unfitted(c, df=np.zeros((3, 3))), TypeError, "ndarray"),
    ("fit-df-none", lambda c, t: s5ts.S5Forecaster(**TINY).fit(None), TypeError, "NoneType"),
    (
        "fit-missing-id-col",
        lambda c, t: _unfitted(c, df=c.df.drop(columns="unique_id")),
        ValueError,
        "unique_id",
    ),
    (
        "fit-misnamed-time-col",
        lambda c, t: s5ts.S5Forecaster(**TINY).fit(c.df, time_col="time"),
        ValueError,
        "'time'",
    ),
    ("fit-empty", lambda c, t: _unfitted(c, df=c.df.iloc[:0]), ValueError, "empty"),
    (
        "fit-all-nan-targets",
        lambda c, t: _unfitted(
            c,
            df=c.df.assign(
                **{k: np.nan for k in ["HR", "MAP", "RespRate", "Temp", "SpO2", "Lactate"]}
            ),
        ),
        ValueError,
        "no observed target",
    ),
    (
        "fit-one-target-never-observed",
        lambda c, t: _unfitted(c, df=c.df.assign(Temp=np.nan)),
        ValueError,
        r"\['Temp'\].*no observed",
    ),
    (
        "fit-nan-time",
        lambda c, t: _unfitted(c, df=_set(c.df, 5, "ds", np.nan)),
        ValueError,
        "'ds'.*patient_000",
    ),
    (
        "fit-inf-time",
        lambda c, t: _unfitted(c, df=_set(c.df, 5, "ds", np.inf)),
        ValueError,
        "'ds'.*inf",
    ),
    (
        "fit-nat-time",
        lambda c, t: _unfitted(c, df=_set(_as_datetimes(c.df), 7, "ds", pd.NaT), horizon="12h"),
        ValueError,
        "NaT.*patient_000",
    ),
    ("fit-mixed-time-types", lambda c, t: _unfitted(c, df=_mixed_times(c)), TypeError, "mixes"),
    (
        "fit-duplicates",
        lambda c, t: _unfitted(c, df=pd.concat([c.df, c.df.iloc[[4]]])),
        ValueError,
        r"share an \(id, time\) key.*patient_000",
    ),
    (
        "fit-unknown-target",
        lambda c, t: s5ts.S5Forecaster(**TINY).fit(c.df, target_cols=["BP"]),
        ValueError,
        "BP",
    ),
    (
        "fit-target-cols-str",
        lambda c, t: s5ts.S5Forecaster(**TINY).fit(c.df, target_cols="HR"),
        TypeError,
        "target_cols",
    ),
    (
        "fit-inf-target",
        lambda c, t: _unfitted(c, df=_set(c.df, 1, "HR", np.inf)),
        ValueError,
        "HR.*inf",
    ),
    (
        "fit-huge-target",
        lambda c, t: _unfitted(c, df=_set(c.df, 1, "HR", 1e300)),
        ValueError,
        r"\['HR'\].*too large",
    ),
    (
        "fit-polars-string-target",
        lambda c, t: _unfitted(
            c, df=pl.from_pandas(c.df).with_columns(pl.col("HR").cast(pl.String))
        ),
        TypeError,
        "HR.*not numeric",
    ),
    (
        "fit-polars-string-time",
        lambda c, t: _unfitted(
            c, df=pl.from_pandas(c.df).with_columns(pl.col("ds").cast(pl.String))
        ),
        TypeError,
        "'ds'.*String",
    ),
    (
        "fit-static-missing-id",
        lambda c, t: s5ts.S5Forecaster(**TINY).fit(c.df, c.static.iloc[1:]),
        ValueError,
        "static_df lacks.*patient_000",
    ),
    (
        "fit-static-not-a-frame",
        lambda c, t: s5ts.S5Forecaster(**TINY).fit(c.df, [1, 2]),
        TypeError,
        "static_df",
    ),
    (
        "fit-single-events",
        lambda c, t: _unfitted(c, df=c.df.groupby("unique_id").head(1)),
        ValueError,
        ">= 2",
    ),
    (
        "fit-val-df-other-time-kind",
        lambda c, t: s5ts.S5Forecaster(**TINY).fit(c.df, c.static, val_df=_as_datetimes(c.df)),
        TypeError,
        "val_df",
    ),
    (
        "fit-callbacks-not-callable",
        lambda c, t: s5ts.S5Forecaster(**TINY).fit(c.df, c.static, callbacks=[1]),
        TypeError,
        "callbacks",
    ),
    # -- fit: hyperparameters ------------------------------------------------------------
    ("hp-negative-hidden", _hp(hidden_size=-8), ValueError, "hidden_size"),
    ("hp-float-layers", _hp(n_layers=1.5), ValueError, "n_layers"),
    ("hp-dropout-str", _hp(dropout="0.1"), TypeError, "dropout"),
    ("hp-dropout-one", _hp(dropout=1.0), ValueError, "dropout"),
    ("hp-ema-decay-one", _hp(ema_decay=1.0), ValueError, "ema_decay"),
    ("hp-ema-decay-str", _hp(ema_decay="high"), TypeError, "ema_decay"),
    ("hp-lr-nan", _hp(learning_rate=float("nan")), ValueError, "learning_rate"),
    ("hp-state-not-multiple", _hp(state_size=6, blocks=2), ValueError, "state_size"),
    ("hp-seed-str", _hp(random_state="3"), TypeError, "random_state"),
    ("hp-discretisation-str", _hp(discretisation="zoh"), TypeError, "discretisation"),
    ("hp-horizon-str-numeric-times", _hp(horizon="12h"), TypeError, "horizon"),
    ("hp-context-negative", _hp(context=-1.0), ValueError, "context"),
    # -- predict -------------------------------------------------------------------------
    (
        "predict-not-fitted",
        lambda c, t: s5ts.S5Forecaster().predict(c.df, h=1),
        s5ts.NotFittedError,
        "not fitted",
    ),
    ("predict-df-none", lambda c, t: c.est.predict(None, h=2), TypeError, "NoneType"),
    (
        "predict-other-targets",
        lambda c, t: _predict(c, df=c.df.rename(columns={"HR": "hr"})),
        ValueError,
        r"lacks target column\(s\) \['HR'\]",
    ),
    (
        "predict-query-at-end",
        lambda c, t: _predict(c, query_df=_queries(["patient_004"], [_last(c, "patient_004")])),
        ValueError,
        "patient_004",
    ),
    (
        "predict-query-before-end",
        lambda c, t: _predict(c, query_df=_queries(["patient_002", "patient_005"], [30.0, 1.0])),
        ValueError,
        "patient_005",
    ),
    (
        "predict-unknown-query-id",
        lambda c, t: _predict(c, query_df=_queries(["ghost"], [30.0])),
        ValueError,
        "ghost",
    ),
    (
        "predict-query-not-a-frame",
        lambda c, t: _predict(c, query_df={"unique_id": ["a"]}),
        TypeError,
        "query_df",
    ),
    (
        "predict-query-missing-col",
        lambda c, t: _predict(c, query_df=pd.DataFrame({"unique_id": ["patient_000"]})),
        ValueError,
        "query_df.*'ds'",
    ),
    (
        "predict-datetime-df-numeric-fit",
        lambda c, t: _predict(c, df=_as_datetimes(c.df)),
        TypeError,
        "datetime.*float",
    ),
    (
        "predict-numeric-df-datetime-fit",
        lambda c, t: _dt_model(c, None).predict(c.df, h=2, static_df=c.static),
        TypeError,
        "float.*datetime",
    ),
    (
        "predict-naive-df-aware-fit",
        lambda c, t: _dt_model(c, "UTC").predict(_as_datetimes(c.df), h=2, static_df=c.static),
        TypeError,
        r"df has naive datetime times but .* fitted on tz-aware datetime \(UTC\) times.*'ds'",
    ),
    (
        "predict-aware-df-naive-fit",
        lambda c, t: _dt_model(c, None).predict(
            _as_datetimes(c.df, "Europe/Paris"), h=2, static_df=c.static
        ),
        TypeError,
        "'ds'",
    ),
    (
        "predict-naive-query-aware-fit",
        lambda c, t: _dt_model(c, "UTC").predict(
            _as_datetimes(c.df, "UTC"),
            _queries(["patient_000"], [pd.Timestamp("2024-01-03")]),
            static_df=c.static,
        ),
        TypeError,
        "query_df.*time zone",
    ),
    (
        "predict-huge-history",
        lambda c, t: _predict(c, df=_set(c.df, 1, "MAP", 1e300)),
        ValueError,
        r"\['MAP'\].*too large",
    ),
    ("predict-static-missing", lambda c, t: _predict(c, static_df=None), ValueError, "static"),
    (
        "predict-static-empty",
        lambda c, t: _predict(
            c, df=c.df[c.df["unique_id"] == "patient_003"], static_df=c.static.iloc[:0]
        ),
        ValueError,
        r"lacks series \['patient_003'\]",
    ),
    ("predict-level-100", lambda c, t: _predict(c, level=[80, 100]), ValueError, "level"),
    (
        "predict-level-fraction",
        lambda c, t: _predict(c, level=[0.8]),
        ValueError,
        r"percentages.*level=\[80\]",
    ),
    ("predict-level-scalar", lambda c, t: _predict(c, level=80), TypeError, "level"),
    ("predict-level-str", lambda c, t: _predict(c, level=["80"]), TypeError, "level"),
    (
        "predict-quantile-above-1",
        lambda c, t: _predict(c, quantiles=[0.5, 1.5]),
        ValueError,
        "quantiles",
    ),
    (
        "predict-query-and-h",
        lambda c, t: _predict(c, query_df=_queries(["patient_000"], [99.0]), h=2),
        ValueError,
        "either query_df or h",
    ),
    ("predict-h-zero", lambda c, t: _predict(c, h=0), ValueError, "h must be"),
    ("predict-h-float", lambda c, t: _predict(c, h=2.5), ValueError, "h must be"),
    ("predict-freq-zero", lambda c, t: _predict(c, freq=0.0), ValueError, "freq"),
    ("predict-freq-str-numeric", lambda c, t: _predict(c, freq="1h"), TypeError, "spans"),
    # -- cross_validation ----------------------------------------------------------------
    ("cv-df-list", lambda c, t: c.est.cross_validation([1], h=2), TypeError, "df must be"),
    (
        "cv-h-negative",
        lambda c, t: c.est.cross_validation(c.df, static_df=c.static, h=-2),
        ValueError,
        "h must be a positive",
    ),
    (
        "cv-n-windows-zero",
        lambda c, t: c.est.cross_validation(c.df, static_df=c.static, h=2, n_windows=0),
        ValueError,
        "n_windows",
    ),
    (
        "cv-no-window",
        lambda c, t: c.est.cross_validation(c.df, static_df=c.static, h=10**6),
        ValueError,
        "no cross-validation window",
    ),
    (
        "cv-step-size-str",
        lambda c, t: c.est.cross_validation(c.df, static_df=c.static, h=2, step_size="1h"),
        TypeError,
        "step_size",
    ),
    (
        "cv-h-span",
        lambda c, t: c.est.cross_validation(c.df, static_df=c.static, h=2.0),
        ValueError,
        r"h must be a positive number of steps.*h \* freq",
    ),
    # -- command line --------------------------------------------------------------------
    (
        "cli-fit-huge-target",
        lambda c, t: _cli(
            "fit", _csv(c, t, _set(c.df, 1, "HR", 1e300)), t / "m", "-q", "--max-steps", "1"
        ),
        ValueError,
        r"\['HR'\].*too large",
    ),
    (
        "cli-predict-query-at-end",
        lambda c, t: _cli(
            "predict",
            c.saved,
            _csv(c, t, c.df),
            "--query",
            _csv(c, t, _queries(["patient_004"], [_last(c, "patient_004")]), "q.csv"),
            "--static",
            _csv(c, t, c.static, "s.csv"),
            "-o",
            t / "fc.csv",
        ),
        ValueError,
        "patient_004",
    ),
    (
        "cli-predict-corrupt-model",
        lambda c, t: _cli(
            "predict", _broken_copy(c, t), _csv(c, t, c.df), "--h", "2", "-o", t / "fc.csv"
        ),
        ValueError,
        "config.json.*corrupt",
    ),
    # -- load ----------------------------------------------------------------------------
    ("load-no-dir", lambda c, t: s5ts.S5Forecaster.load(t / "nothing"), ValueError, "not exist"),
    ("load-path-none", lambda c, t: s5ts.S5Forecaster.load(None), TypeError, "path"),
    (
        "load-bad-json",
        lambda c, t: (t / "config.json").write_text("{oops") and s5ts.S5Forecaster.load(t),
        ValueError,
        "corrupt",
    ),
    (
        "load-other-version",
        lambda c, t: _tamper(c, t, edit=lambda d: d.update(format_version=99)),
        ValueError,
        "format version 99",
    ),
    (
        "load-other-format",
        lambda c, t: _tamper(c, t, edit=lambda d: d.update(format="x")),
        ValueError,
        "config",
    ),
    (
        "load-config-edited",
        lambda c, t: _tamper(c, t, edit=lambda d: d["fitted"].update(horizon=1.0), reseal=False),
        ValueError,
        r"config\.json does not match its recorded SHA-256",
    ),
    (
        "load-deep-json",
        lambda c, t: (
            (t / "config.json").write_text("[" * 10**5 + "]" * 10**5) and s5ts.S5Forecaster.load(t)
        ),
        ValueError,
        "nests",
    ),
    (
        "load-missing-weights",
        lambda c, t: _tamper(c, t, drop="model.eqx"),
        ValueError,
        "model.eqx is missing",
    ),
    (
        "load-missing-config",
        lambda c, t: _tamper(c, t, drop="config.json"),
        ValueError,
        "config.json is missing",
    ),
    (
        "load-truncated-weights",
        lambda c, t: _tamper(c, t, weights=lambda b: b[: len(b) // 3]),
        ValueError,
        "model.eqx",
    ),
    (
        "load-garbled-weights",
        lambda c, t: _tamper(c, t, weights=lambda b: bytes(len(b))),
        ValueError,
        "model.eqx",
    ),
    (
        "load-wrong-shapes",
        lambda c, t: _tamper(
            c, t, edit=lambda d: d["fitted"]["architecture"].update(hidden_size=4)
        ),
        ValueError,
        "does not match",
    ),
    (
        "load-huge-sizes",
        lambda c, t: _tamper(
            c,
            t,
            edit=lambda d: d["fitted"]["architecture"].update(hidden_size=10**6, state_size=10**6),
        ),
        ValueError,
        "too small",
    ),
    (
        "load-bad-hyperparameter",
        lambda c, t: _tamper(c, t, edit=lambda d: d["hyperparameters"].update(hidden_size=-1)),
        ValueError,
        "hidden_size",
    ),
    (
        "load-unknown-hyperparameter",
        lambda c, t: _tamper(c, t, edit=lambda d: d["hyperparameters"].update(evil=1)),
        ValueError,
        "evil",
    ),
    (
        "load-scaler-size",
        lambda c, t: _tamper(c, t, edit=lambda d: d["fitted"]["scaler"].update(mean=[0.0])),
        ValueError,
        "scaler",
    ),
]

_JAX_PATH = re.compile(r"[\\/](jax|jaxlib|equinox|optax)[\\/]")


@pytest.mark.parametrize(("call", "exc", "match"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_bad_input(ctx, tmp_path, call, exc, match):
    with pytest.raises((ValueError, TypeError)) as info:
        call(ctx, tmp_path)
    err = info.value
    assert isinstance(err, exc), f"{type(err).__name__}: {err}"
    assert re.search(match, str(err)), str(err)
    # Raised by s5ts's own checks, before any tracing: no JAX frame, no JAX cause, no JAX talk.
    frames = [str(entry.path) for entry in info.traceback]
    assert not any(_JAX_PATH.search(f) for f in frames), frames
    cause = err.__cause__ or (None if err.__suppress_context__ else err.__context__)
    assert cause is None or not type(cause).__module__.startswith(("jax", "equinox"))
    assert not re.search(r"\b(jax|xla|tracer|traced)\b", str(err), re.IGNORECASE), str(err)


def test_matrix_size():
    assert len(CASES) >= 25 and len({c[0] for c in CASES}) == len(CASES)


def test_good_inputs_still_work(ctx):
    """The twins used above are real forecasters: their predictions are finite."""
    for tz in (None, "UTC"):
        out = _dt_model(ctx, tz).predict(_as_datetimes(ctx.df, tz), h=2, static_df=ctx.static)
        assert np.isfinite(out.drop(columns=["unique_id", "ds"]).to_numpy()).all()
    assert os.path.isdir(ctx.saved)
