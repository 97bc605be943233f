"""Scaler, padding against a plain-loop construction, bucketing and batch plans."""

import json

import numpy as np
import pandas as pd
import pytest

from s5ts import data


def random_panel(seed: int = 0, n_series: int = 30, max_len: int = 50):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_series):
        n = int(rng.integers(1, max_len))
        times = np.cumsum(rng.exponential(1.0, n)) * 60
        for t in times:
            vals = rng.normal([80.0, 120.0, 37.0], [10.0, 20.0, 0.5])
            vals[rng.random(3) < 0.5] = np.nan
            if np.isnan(vals).all():
                vals[0] = 80.0
            rows.append((s, t, *vals))
    df = pd.DataFrame(rows, columns=["unique_id", "ds", "hr", "sbp", "temp"])
    return data.to_panel(df)[0]


def test_scaler_round_trip_and_json():
    panel = random_panel()
    scaler = data.Scaler().fit(panel)
    z = scaler.transform(panel.values)
    np.testing.assert_allclose(np.nanmean(z, axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.nanstd(z, axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(scaler.inverse_transform(z), panel.values, rtol=1e-13)
    assert np.array_equal(np.isnan(z), np.isnan(panel.values))
    np.testing.assert_allclose(scaler.inverse_scale(np.ones(3)), np.nanstd(panel.values, 0))
    back = data.Scaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(back.transform(panel.values), z)
    assert back.target_cols == ("hr", "sbp", "temp")


def test_scaler_constant_and_unobserved_variables():
    values = np.array([[5.0, np.nan, 1e-100], [5.0, np.nan, 2e-100]])
    scaler = data.Scaler().fit(values)
    assert scaler.std.tolist()[:2] == [1.0, 1.0] and scaler.mean.tolist()[:2] == [5.0, 0.0]
    # tiny but varying: kept, not floored
    assert scaler.std[2] == pytest.approx(0.5e-100, rel=1e-12)
    assert np.isfinite(scaler.transform(values)[:, [0, 2]]).all()
    with pytest.raises(ValueError, match="not fitted"):
        data.Scaler().transform(values)


def expected_padding(panel, index, length, ts, scaler):
    """The padded arrays built one event at a time."""
    elapsed, gaps = ts.elapsed(panel), ts.gaps(panel)
    z = scaler.transform(panel.values)
    b, c = len(index), len(panel.target_cols)
    out = {
        "values": np.zeros((b, length, c), np.float32),
        "mask": np.zeros((b, length, c), bool),
        "dt": np.zeros((b, length), np.float32),
        "times": np.zeros((b, length)),
        "valid": np.zeros((b, length), bool),
    }
    for i, s in enumerate(index):
        if s < 0:
            continue
        rows = range(panel.indptr[s], panel.indptr[s + 1])
        for j, r in enumerate(rows):
            out["valid"][i, j] = True
            out["dt"][i, j] = gaps[r]
            out["times"][i, j] = elapsed[r]
            for k in range(c):
                if not np.isnan(z[r, k]):
                    out["values"][i, j, k] = z[r, k]
                    out["mask"][i, j, k] = True
        out["times"][i, len(rows) :] = elapsed[rows[-1]]
    return out


def test_pad_matches_a_plain_loop():
    panel = random_panel(1)
    ts, scaler = data.TimeScale().fit(panel), data.Scaler().fit(panel)
    index = np.array([3, -1, 0, 17, 29, -1])
    length = int(panel.lengths.max()) + 3
    batch = data.pad(panel, index, length, time_scale=ts, scaler=scaler)
    want = expected_padding(panel, index, length, ts, scaler)
    for name, arr in want.items():
        got = getattr(batch, name)
        assert got.dtype == arr.dtype and got.shape == arr.shape, name
        np.testing.assert_array_equal(got, arr, err_msg=name)
    lengths = [panel.lengths[i] if i >= 0 else 0 for i in index]
    np.testing.assert_array_equal(batch.lengths, lengths)
    np.testing.assert_array_equal(batch.series_index, index)


def test_buckets_give_few_shapes_and_batches_cover_every_series_once():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 2000, size=500)
    buckets = data.bucket_lengths(lengths, n_buckets=4, min_length=16)
    assert 1 <= len(buckets) <= 4 and buckets[-1] >= lengths.max()
    assert all(b & (b - 1) == 0 and b >= 16 for b in buckets.tolist())  # powers of two
    plan = list(data.iter_batches(lengths, buckets, 32, rng=np.random.default_rng(1)))
    assert {size for size, _ in plan} <= set(buckets.tolist())
    assert all(idx.shape == (32,) for _, idx in plan)
    seen = np.concatenate([idx for _, idx in plan])
    assert sorted(seen[seen >= 0].tolist()) == list(range(500))
    for size, idx in plan:
        assert (lengths[idx[idx >= 0]] <= size).all()
        assert not (idx[:-1] < 0)[idx[1:] >= 0].any()  # dummies only at the end
    again = list(data.iter_batches(lengths, buckets, 32, rng=np.random.default_rng(1)))
    assert [s for s, _ in again] == [s for s, _ in plan]
    np.testing.assert_array_equal(np.stack([i for _, i in again]), np.stack([i for _, i in plan]))
    kept = list(data.iter_batches(lengths, buckets, 32, drop_last=True))
    assert all((idx >= 0).all() for _, idx in kept)


def test_padded_batches_from_the_plan_cover_the_panel():
    panel = random_panel(2, n_series=20, max_len=40)
    ts = data.TimeScale().fit(panel)
    buckets = data.bucket_lengths(panel.lengths, n_buckets=2, min_length=8)
    total = 0
    for size, idx in data.iter_batches(panel.lengths, buckets, 8):
        batch = data.pad(panel, idx, size, time_scale=ts)
        assert batch.values.shape == (8, size, 3)
        total += int(batch.mask.sum())
    assert total == int(panel.observed.sum())
