"""Numerical stability in float32: very long series and gaps over twelve orders of magnitude."""

import numpy as np
import pandas as pd
import pytest

import s5ts


# Queries 1e6 time units ahead are far beyond any trained horizon, on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::s5ts.ExtrapolationWarning")


TINY = dict(
    hidden_size=8,
    state_size=8,
    blocks=1,
    n_layers=1,
    batch_size=2,
    max_steps=3,
    eval_every=3,
    random_state=0,
    verbose=False,
)


def _fit_predict(df, **kw):
    est = s5ts.S5Forecaster(**TINY | kw).fit(df)
    last = df.groupby("unique_id")["ds"].max()
    q = pd.DataFrame({"unique_id": last.index.repeat(3), "ds": np.repeat(last.to_numpy(), 3)})
    q["ds"] += np.tile([1e-6, 1.0, 1e6], len(last))
    out = est.predict(df, q, level=[95])
    assert len(out) == len(q)
    values = out.drop(columns=["unique_id", "ds"]).to_numpy()
    assert np.isfinite(values).all()
    assert all(np.isfinite(v).all() for v in est.history_["train_loss"])
    return out


def test_ten_thousand_events():
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.exponential(1.0, 10_000))
    y = np.sin(t / 50) + 0.1 * rng.normal(size=t.size)
    df = pd.DataFrame({"unique_id": "long", "ds": t, "y": y})
    _fit_predict(df, horizon=20.0)


def test_extreme_gaps():
    rng = np.random.default_rng(1)
    frames = []
    for i in range(3):
        gaps = 10.0 ** rng.uniform(-6, 6, 60)
        gaps[:4] = [1e-6, 1e6, 1e-6, 1e6]  # both extremes in every series
        t = np.cumsum(gaps)
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": t, "y": rng.normal(size=t.size)}))
    _fit_predict(pd.concat(frames, ignore_index=True))
