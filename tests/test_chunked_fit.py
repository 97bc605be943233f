"""`fit(..., chunk_size=n)`: training data read `n` series at a time from a polars
LazyFrame or a Parquet path. The scalings must be those of an in-memory fit; training
must visit every chunk."""

from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from _tiny import TINY

import s5ts
from s5ts.batching import EVENTS, ListedSizing, StreamedSizing
from s5ts.datasets import synthetic_vitals
from s5ts.forecaster import _fit_chunked
from s5ts.forecaster._fit_chunked import _ChunkSampler


# horizon=None: the horizon comes from every series' span, which the chunks must agree on
FREE = TINY | {"horizon": None}


@pytest.fixture(scope="module")
def data():
    df, static = synthetic_vitals(40, seed=1, hours=24.0)
    return pl.from_pandas(df), pl.from_pandas(static)


@pytest.fixture(scope="module")
def in_memory(data):
    df, static = data
    return s5ts.S5Forecaster(**FREE).fit(df, static)


@pytest.mark.parametrize("chunk_size", [9, 40])
def test_chunked_fit_fits_the_scalings_of_an_in_memory_fit(data, in_memory, chunk_size):
    df, static = data
    est = s5ts.S5Forecaster(**FREE).fit(df.lazy(), static, chunk_size=chunk_size)
    a, b = in_memory.fitted_, est.fitted_
    for name in ("mean", "std"):
        np.testing.assert_allclose(getattr(b.scaler, name), getattr(a.scaler, name), rtol=1e-12)
    np.testing.assert_allclose(b.static_mean, a.static_mean, rtol=1e-12)
    np.testing.assert_allclose(b.static_std, a.static_std, rtol=1e-12)
    np.testing.assert_allclose(b.input_bounds, a.input_bounds, rtol=1e-12)
    assert (est.horizon_, est.max_len_) == (in_memory.horizon_, in_memory.max_len_)
    assert b.time_scale.unit == a.time_scale.unit  # every gap's lower median
    for field in ("n_input_rows", "n_series", "n_events", "n_observations"):
        assert getattr(est.report_, field) == getattr(in_memory.report_, field)
    # The same series are held out: the baselines score the same on them.
    for name in ("locf", "series_mean", "train_mean"):
        assert est.validation_scores_[name] == pytest.approx(
            in_memory.validation_scores_[name], rel=1e-6
        )
    forecast = est.predict(df, h=2, static_df=static)
    assert forecast.height == 2 * df["unique_id"].n_unique()
    assert np.isfinite(forecast.drop("unique_id", "ds").to_numpy()).all()


def test_parquet_path_and_lazyframe_fit_alike(tmp_path, data):
    df, static = data
    path = tmp_path / "train.parquet"
    df.sort("unique_id", "ds").write_parquet(path, row_group_size=200)
    a = s5ts.S5Forecaster(**TINY).fit(path, static, chunk_size=9)
    b = s5ts.S5Forecaster(**TINY).fit(pl.scan_parquet(path), static, chunk_size=9)
    query = df.filter(pl.col("ds") < 12)
    pa, pb = (m.predict(query, h=3, static_df=static) for m in (a, b))
    np.testing.assert_array_equal(pa.drop("unique_id").to_numpy(), pb.drop("unique_id").to_numpy())


@pytest.fixture
def reads(monkeypatch):
    """The series of every chunk a chunked fit reads, in order."""
    calls = []

    def spy(frame, static_df, **kwargs):
        calls.append(set(frame["unique_id"].unique().to_list()))
        return read_panel(frame, static_df, **kwargs)

    read_panel = _fit_chunked.read_panel
    monkeypatch.setattr(_fit_chunked, "read_panel", spy)
    return calls


def test_a_fit_reads_every_series_then_trains_on_every_chunk(data, reads):
    df, static = data
    ids = set(df["unique_id"].unique().to_list())
    s5ts.S5Forecaster(**TINY).fit(df.lazy(), static, chunk_size=5)
    passes, val = reads[:8], reads[8]  # 40 series: 8 chunks of 5, then the held-out ones
    assert set().union(*passes) == ids and sum(map(len, passes)) == 40
    assert len(val) == 5  # val_size=0.2 would be 8: at most one chunk is held out
    training = reads[9:]
    assert set().union(*training) == ids - val  # every training series, in chunks of 5
    assert all(len(chunk) <= 5 for chunk in training)


def test_a_first_chunk_of_single_event_series_is_skipped(data):
    df, static = data
    first = sorted(df["unique_id"].unique().to_list())[:6]
    single = df.filter(pl.col("unique_id").is_in(first)).group_by("unique_id").first()
    df = pl.concat([single.select(df.columns), df.filter(~pl.col("unique_id").is_in(first))])
    est = s5ts.S5Forecaster(**TINY, val_size=0.0).fit(df.lazy(), static, chunk_size=6)
    assert est.history_["stopped"] == "max_steps"


def test_training_draws_a_chunk_at_a_time_and_visits_every_chunk():
    chunks = [np.arange(k, k + 12) for k in range(0, 60, 12)]
    loaded = []

    def load(ids):
        loaded.append(int(ids[0]) // 12)
        return [np.asarray(ids)] * len(ids)  # stands in for the chunk's series

    sampler = _ChunkSampler(chunks, load, np.random.default_rng(0), batch_size=4, options={})
    draws = [sampler.source() for _ in range(2 * 5 * 3)]  # two rounds, 3 batches a chunk
    assert sorted(loaded[:5]) == list(range(5)) and sorted(loaded[5:]) == list(range(5))
    assert loaded[:5] != loaded[5:]  # a new order each round
    for k in range(10):  # each chunk serves 12 / 4 = 3 consecutive batches
        assert len({int(d[0][0]) for d in draws[3 * k : 3 * k + 3]}) == 1


@pytest.mark.parametrize(
    "kwargs, fit_kwargs, error, match",
    [
        ({}, {"chunk_size": 0}, ValueError, "chunk_size"),
        ({}, {"chunk_size": 5, "checkpoint_dir": "ckpt"}, ValueError, "checkpoint_dir"),
        ({"network": s5ts.VariableClocks()}, {"chunk_size": 5}, ValueError, "SharedClock"),
        ({}, {"chunk_size": 5, "id_col": "stay"}, ValueError, "stay"),
    ],
)
def test_chunked_fit_errors(data, kwargs, fit_kwargs, error, match):
    df, static = data
    with pytest.raises(error, match=match):
        s5ts.S5Forecaster(**TINY, **kwargs).fit(df.lazy(), static, **fit_kwargs)


def test_chunked_fit_names_the_frames_it_reads(data):
    df, static = data
    with pytest.raises(TypeError, match="LazyFrame"):
        s5ts.S5Forecaster(**TINY).fit(df.to_pandas(), static, chunk_size=5)


class _Every:
    """A 'reservoir' that keeps every value: the exact median."""

    def __init__(self):
        self.kept = []

    def add(self, block):
        self.kept.append(block)

    def values(self):
        return np.concatenate(self.kept)


@pytest.mark.parametrize("most", [3, 256])
def test_streamed_sizing_agrees_with_the_series_it_summarises(most):
    # Series of 2-30 events with repeated times, gathered in three blocks of one array
    # each (as a chunk's panel holds them, with skipped series between them) in a unit
    # 10 times larger than they are read in.
    rng = np.random.default_rng(0)
    series = [
        np.cumsum(rng.choice([0.0, 0.25, 0.5, 1.5], size=rng.integers(2, 31))) for _ in range(60)
    ]
    listed = ListedSizing([SimpleNamespace(t=t) for t in series], EVENTS)
    streamed = StreamedSizing(_Every(), most)
    for block in (series[:7], series[7:8], series[8:]):
        parts = [np.zeros(5)]  # 5 times of series not taken before the block
        starts, stops = [], []
        for t in block:
            start = sum(map(len, parts))
            starts.append(start)
            stops.append(start + len(t))
            parts += [t / 0.1, np.zeros(3)]  # and 3 between each two
        streamed.add(np.concatenate(parts), np.array(starts), np.array(stops))
    streamed.rescale(0.1)
    assert streamed.n_series == 60
    np.testing.assert_array_equal(streamed.sizes(), listed.sizes())
    assert streamed.median_gap() == pytest.approx(listed.median_gap(), rel=1e-12)
    for horizon in (0.1, 0.25, 0.5, 1.0, 2.0, 3.75, 10.0, 100.0):
        assert streamed.max_window_events(horizon) == min(listed.max_window_events(horizon), most)
