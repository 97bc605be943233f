"""Model files: loading never runs code from the file, and a crash mid-save keeps the old model."""

import pickle
import re
import shutil
from pathlib import Path

import equinox
import numpy as np
import pandas as pd
import pytest
from _tiny import TINY

import s5ts
from s5ts.datasets import synthetic_vitals


class _Payload:
    """Unpickling this creates `marker`: the proof that a loader ran code from a file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def fitted():
    df, static_df = synthetic_vitals(12, seed=5, hours=24.0)
    return s5ts.S5Forecaster(**TINY).fit(df, static_df), df, static_df


def _plant(tmp_path, fitted, weights: bytes) -> tuple[Path, Path]:
    est, _, _ = fitted
    est.save(tmp_path / "m")
    marker = tmp_path / "pwned"
    blob = pickle.dumps(_Payload(marker))
    (tmp_path / "m" / "model.pkl").write_bytes(blob)
    (tmp_path / "m" / "model.eqx").write_bytes(weights or blob)
    return tmp_path / "m", marker


def test_pickled_weights_are_not_unpickled(tmp_path, fitted):
    path, marker = _plant(tmp_path, fitted, b"")
    with pytest.raises(ValueError, match="model.eqx"):
        s5ts.S5Forecaster.load(path)
    assert not marker.exists()


def test_object_array_in_weights_is_not_unpickled(tmp_path, fitted):
    marker = tmp_path / "pwned"
    arr = np.empty(1, dtype=object)
    arr[0] = _Payload(marker)
    npy = tmp_path / "payload.npy"
    np.save(npy, arr, allow_pickle=True)
    path, _ = _plant(tmp_path, fitted, npy.read_bytes())
    with pytest.raises(ValueError, match="model.eqx"):
        s5ts.S5Forecaster.load(path)
    assert not marker.exists()


def test_package_never_imports_pickle():
    root = Path(s5ts.__file__).parent
    for file in root.rglob("*.py"):
        text = file.read_text()
        assert not re.search(r"^\s*(import|from)\s+(pickle|cloudpickle|dill|joblib)\b", text, re.M)
        assert "allow_pickle=True" not in text, file


def test_crash_mid_save_keeps_previous_model(tmp_path, fitted, monkeypatch):
    est, df, static_df = fitted
    est.save(tmp_path / "m")
    before = est.predict(df, h=2, static_df=static_df)

    def crash(path, tree, *args, **kwargs):
        Path(path).write_bytes(b"\x93NUMPY half a file")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(equinox, "tree_serialise_leaves", crash)
    with pytest.raises(OSError, match="simulated"):
        est.save(tmp_path / "m")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary left over
    after = s5ts.S5Forecaster.load(tmp_path / "m").predict(df, h=2, static_df=static_df)
    pd.testing.assert_frame_equal(after, before, check_exact=True)


def test_save_refuses_a_file_or_foreign_directory(tmp_path, fitted):
    est, _, _ = fitted
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        est.save(tmp_path / "file")
    shutil.copytree(Path(s5ts.__file__).parent / "data", tmp_path / "code")
    with pytest.raises(ValueError, match="refusing"):
        est.save(tmp_path / "code")
