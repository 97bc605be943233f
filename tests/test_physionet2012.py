"""The PhysioNet 2012 converter (``datasets/physionet2012.py``)."""

import importlib.util
import io
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest


ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "physionet2012"


def _load_module():
    # By path: the top-level ``datasets`` folder is not a package (and the name
    # would clash with Hugging Face ``datasets``).
    spec = importlib.util.spec_from_file_location(
        "s5ts_physionet2012", ROOT / "datasets" / "physionet2012.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


pn = _load_module()

REC_1 = """Time,Parameter,Value
00:00,RecordID,1001
00:00,Age,54
00:00,Gender,0
00:00,Height,-1
00:00,ICUType,4
00:00,Weight,80
00:00,HR,90
00:07,HR,73
00:07,HR,75
00:07,NIDiasABP,-1
00:30,,1.9
01:15,Weight,81.5
01:15,Temp,-17.8
02:00,Foo,3
48:00,Urine,100
"""
REC_2 = """Time,Parameter,Value
00:00,RecordID,1002
00:00,Age,71
00:00,Gender,-1
00:00,Height,170.2
00:00,ICUType,2
00:00,Weight,-1
03:30,pH,735
04:00,pH,7.35
"""
OUTCOMES = """RecordID,SAPS-I,SOFA,Length_of_stay,Survival,In-hospital_death
1001,6,1,5,-1,0
1002,16,8,8,3,1
"""


@pytest.fixture
def tiny(tmp_path):
    folder = tmp_path / "set-a"
    folder.mkdir()
    (folder / "1001.txt").write_text(REC_1)
    (folder / "1002.txt").write_text(REC_2)
    (tmp_path / "Outcomes-a.txt").write_text(OUTCOMES)
    return tmp_path


def _row(df, uid, hours):
    row = df[(df["unique_id"] == uid) & np.isclose(df["ds"], hours)]
    assert len(row) <= 1
    return row.iloc[0] if len(row) else None


def test_tiny_defaults_follow_protocol(tiny):
    df, static, rep = pn.load_physionet2012(tiny, sets=("a",), return_report=True)
    assert list(df.columns) == ["unique_id", "ds", *pn.VARIABLES]
    assert len(pn.VARIABLES) == 37 and df["unique_id"].dtype == np.int64
    # rows: 1001 at 0, 7 min, 1.25 h, 48 h; 1002 at 0, 3.5 h, 4 h (empty/unknown names add none)
    assert df[["unique_id", "ds"]].to_numpy().tolist() == [
        [1001, 0.0], [1001, 7 / 60], [1001, 1.25], [1001, 48.0],
        [1002, 0.0], [1002, 3.5], [1002, 4.0],
    ]  # fmt: skip
    r = _row(df, 1001, 0.0)
    assert r["HR"] == 90 and r["Weight"] == 80  # series at 00:00 + Weight descriptor
    r = _row(df, 1001, 7 / 60)
    assert r["HR"] == 74 and r["NIDiasABP"] == -1  # duplicates averaged, -1 kept
    assert _row(df, 1001, 1.25)["Temp"] == -17.8  # implausible kept (protocol)
    assert _row(df, 1002, 0.0)["Weight"] == -1
    assert _row(df, 1002, 3.5)["pH"] == 735
    assert df[list(pn.VARIABLES)].notna().sum().sum() == 10
    # static: descriptors (first), -1 kept, outcomes joined
    s = static.set_index("unique_id")
    assert s.loc[1001, ["Age", "Gender", "Height", "ICUType", "Weight"]].tolist() == [
        54, 0, -1, 4, 80,
    ]  # fmt: skip
    assert s.loc[1002, "Gender"] == -1 and s.loc[1002, "set"] == "a"
    assert s.loc[1002, "In-hospital_death"] == 1
    # every quirk has its counter
    assert rep.n_records == 2 and rep.n_lines == 23
    assert rep.empty_parameter == 1
    assert rep.unknown_parameter == {"Foo": 1}
    assert rep.duplicates_merged == {"HR": 1}
    assert rep.series_at_zero == 1
    assert {k: v for k, v in rep.placeholders.items() if v} == {
        "Height": 1, "Gender": 1, "Weight": 1, "NIDiasABP": 1,
    }  # fmt: skip
    assert rep.implausible == {"Temp": 1, "pH": 1}
    assert rep.raw_counts["HR"] == 3 and rep.raw_counts["Weight"] == 3


def test_tiny_options(tiny):
    df, static = pn.load_physionet2012(tiny, sets=("a",), placeholders="nan", implausible="nan")
    s = static.set_index("unique_id")
    assert np.isnan(s.loc[1001, "Height"]) and np.isnan(s.loc[1002, "Weight"])
    assert np.isnan(_row(df, 1001, 7 / 60)["NIDiasABP"])
    assert np.isnan(_row(df, 1001, 1.25)["Temp"])
    assert _row(df, 1002, 0.0) is None and _row(df, 1002, 3.5) is None  # rows left empty
    first, _ = pn.load_physionet2012(tiny, sets=("a",), duplicates="first")
    last, _ = pn.load_physionet2012(tiny, sets=("a",), duplicates="last")
    assert _row(first, 1001, 7 / 60)["HR"] == 73 and _row(last, 1001, 7 / 60)["HR"] == 75
    no_w, _ = pn.load_physionet2012(tiny, sets=("a",), weight_at_admission=False)
    assert np.isnan(_row(no_w, 1001, 0.0)["Weight"]) and _row(no_w, 1002, 0.0) is None
    with pytest.raises(ValueError, match="duplicates"):
        pn.load_physionet2012(tiny, sets=("a",), duplicates="sum")


def test_tarball_bare_folder_and_polars_agree(tiny, tmp_path_factory):
    ref, ref_static = pn.load_physionet2012(tiny, sets=("a",))
    tar_dir = tmp_path_factory.mktemp("tar")
    with tarfile.open(tar_dir / "set-a.tar.gz", "w:gz") as tf:
        for name, text in (("set-a/1001.txt", REC_1), ("set-a/1002.txt", REC_2)):
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tf.addfile(info, io.BytesIO(text.encode()))
    df, static = pn.load_physionet2012(tar_dir, sets=("a",))
    pd.testing.assert_frame_equal(df, ref)
    assert static["set"].tolist() == ["a", "a"] and "SOFA" not in static  # no outcomes file
    df, _ = pn.load_physionet2012(tiny / "set-a")  # a bare folder of records
    pd.testing.assert_frame_equal(df, ref)
    pdf, pstatic = pn.load_physionet2012(tiny, sets=("a",), frame="polars")
    assert isinstance(pdf, pl.DataFrame) and isinstance(pstatic, pl.DataFrame)
    pd.testing.assert_frame_equal(pdf.to_pandas(), ref, check_dtype=False)


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        pn.load_physionet2012(tmp_path)
    (tmp_path / "1.txt").write_text("Tim,Param\n00:00,HR,1\n")
    with pytest.raises(ValueError, match="header"):
        pn.load_physionet2012(tmp_path)


def test_main_writes_csv(tiny, tmp_path_factory, capsys):
    out = tmp_path_factory.mktemp("out")
    pn.main([str(tiny), "--out", str(out), "--sets", "a", "--format", "csv"])
    back = pd.read_csv(out / "physionet2012.csv")
    assert back.shape == (7, 39)
    assert len(pd.read_csv(out / "physionet2012_static.csv")) == 2
    assert "2 records" in capsys.readouterr().out


# --- the real data -----------------------------------------------------------------

needs_data = pytest.mark.skipif(
    not (DATA / "set-a.tar.gz").is_file(),
    reason="PhysioNet 2012 archives not found at ../shared/data/physionet2012 (repo-relative)",
)


@pytest.fixture(scope="module")
def full():
    return pn.load_physionet2012(DATA, return_report=True)


@needs_data
def test_full_shape_and_static(full):
    df, static, rep = full
    assert rep.n_records == 12_000 and rep.n_lines == 5_285_818
    assert df["unique_id"].nunique() == 12_000 and len(static) == 12_000
    assert static["unique_id"].is_unique
    assert static.groupby("set")["In-hospital_death"].sum().to_dict() == {
        "a": 554, "b": 568, "c": 585,
    }  # fmt: skip
    assert rep.empty_parameter == 2403 and not rep.unknown_parameter
    assert rep.placeholders["Height"] == 5726 and rep.placeholders["Weight"] == 1001
    assert rep.placeholders["Gender"] == 12
    assert not df.duplicated(["unique_id", "ds"]).any()
    assert df["ds"].between(0, 48).all()


@needs_data
def test_full_counts_match_documented_stats(full):
    """Raw line counts match ``variable_irregularity_stats.csv`` (n_obs, n_patients);
    the cells of ``df`` (same-minute duplicates averaged) match the ``count``, ``min`` and
    ``max`` of ``variable_value_ranges.csv``."""
    df, _, rep = full
    stats = pd.read_csv(DATA / "variable_irregularity_stats.csv").set_index("param")
    assert sorted(stats.index) == sorted(pn.VARIABLES)
    for v, row in stats.iterrows():
        assert rep.raw_counts[v] == row["n_obs"], v
    stays = df.groupby("unique_id")[list(pn.VARIABLES)].count().gt(0).sum()
    pd.testing.assert_series_equal(
        stays, stats.loc[list(pn.VARIABLES), "n_patients"], check_names=False
    )
    ranges = pd.read_csv(DATA / "variable_value_ranges.csv").set_index("param")
    cells = df[list(pn.VARIABLES)]
    ref = ranges.loc[list(pn.VARIABLES)]
    pd.testing.assert_series_equal(cells.notna().sum(), ref["count"], check_names=False)
    np.testing.assert_array_equal(cells.min().to_numpy(), ref["min"].to_numpy())
    np.testing.assert_array_equal(cells.max().to_numpy(), ref["max"].to_numpy())
    dups = {v: rep.raw_counts[v] - n for v, n in cells.notna().sum().items()}
    assert {v: n for v, n in dups.items() if n} == dict(rep.duplicates_merged)
