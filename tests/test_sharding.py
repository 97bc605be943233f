"""Data parallelism: training and prediction on 2 (virtual CPU) devices match 1 device
(for a two-network ensemble: every member sharded alike), and `--distributed` training
over 2 local processes matches 1 process.

The device count is fixed when jax starts, so each run is a fresh subprocess with
`XLA_FLAGS=--xla_force_host_platform_device_count=N`, writing its weights and forecasts
to an .npz that the test compares.
"""

import os
import socket
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from s5ts import S5Forecaster
from s5ts._sharding import check_divisible, data_mesh, padded_size, shard_batch
from s5ts.cli import main
from s5ts.datasets import synthetic_vitals


_SCRIPT = """
import sys, jax, numpy as np, equinox as eqx
import s5ts
from s5ts.datasets import synthetic_vitals

out, n_dev, net = sys.argv[1], int(sys.argv[2]), sys.argv[3]
assert jax.device_count() == n_dev, jax.devices()
df, static_df = synthetic_vitals(12, seed=1, hours=24.0)
hist = df[df["ds"] <= 16.0]
tiny = dict(hidden_size=8, state_size=8, blocks=1, n_layers=1, batch_size=4, max_steps=6,
            eval_every=3, horizon=8.0, random_state=0, verbose=False, folds=2,
            network=s5ts.VariableClocks() if net == "own" else s5ts.SharedClock())
model = s5ts.S5Forecaster(**tiny).fit(df, static_df)
leaves = jax.tree.leaves(eqx.filter(model.model_, eqx.is_inexact_array))
shardings = {str(leaf.sharding.device_set) for leaf in leaves}
fc = model.predict(hist, h=5, freq=2.0, static_df=static_df, level=[80])
error = ""
try:
    s5ts.S5Forecaster(**(tiny | dict(batch_size=3))).fit(df, static_df)
except ValueError as err:
    error = str(err)
np.savez(out, fc=fc.drop(columns=["unique_id", "ds"]).to_numpy(), error=error,
         n_sharded=max(len(s) for s in [leaf.sharding.device_set for leaf in leaves]),
         *[np.asarray(leaf) for leaf in leaves])
"""


def _runs(tmp_path, net: str) -> list[dict]:
    """The 1- and 2-device runs, side by side: most of each run is compiling in one
    thread, so a second core (idle when the suite's other worker has finished) takes the
    other run."""
    runs = []
    for n_dev in (1, 2):
        out = tmp_path / f"run{n_dev}{net}.npz"
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n_dev}")
        env["JAX_PLATFORMS"] = "cpu"
        cmd = [sys.executable, "-c", _SCRIPT, str(out), str(n_dev), net]
        err = out.with_suffix(".err")  # a file, not a pipe that a waiting run could fill
        with open(err, "w") as f:
            runs.append((subprocess.Popen(cmd, env=env, stderr=f), out, err))
    results = []
    for proc, out, err in runs:
        assert proc.wait(timeout=600) == 0, err.read_text()[-3000:]
        with np.load(out) as z:
            results.append({k: z[k] for k in z.files})
    return results


@pytest.mark.parametrize("net", ["shared", "own"])  # one clock, or one per variable
def test_two_devices_match_one(tmp_path, net):
    one, two = _runs(tmp_path, net)
    assert int(one["n_sharded"]) == 1 and int(two["n_sharded"]) == 2  # really replicated
    params = sorted(k for k in one if k.startswith("arr_"))
    assert params and params == sorted(k for k in two if k.startswith("arr_"))
    for k in params:
        np.testing.assert_allclose(two[k], one[k], rtol=1e-4, atol=1e-5, err_msg=k)
    np.testing.assert_allclose(two["fc"], one["fc"], rtol=1e-4, atol=1e-4)
    # batch_size 3 cannot be split over 2 devices: a clear error, not a crash.
    assert str(one["error"]) == ""
    assert "divisible by the number of devices (2)" in str(two["error"])


def test_single_device_is_a_no_op():
    assert data_mesh() is None  # the test process itself runs on one CPU device
    batch = (np.zeros((3, 2)),)
    assert shard_batch(batch, None) is batch
    assert padded_size(5, None) == 5
    check_divisible(3, None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    """`--distributed` over 2 local processes (JAX's runtime, gloo collectives on CPU)
    trains the same weights as one process."""
    df, static_df = synthetic_vitals(10, seed=4, hours=24.0, frame="polars")
    df.write_csv(tmp_path / "train.csv")
    static_df.write_csv(tmp_path / "static.csv")
    fit = ["fit", str(tmp_path / "train.csv"), "--static", str(tmp_path / "static.csv")]
    fit += "--hidden-size 8 --state-size 8 --blocks 1 --n-layers 1 --batch-size 4".split()
    fit += "--max-steps 4 --eval-every 2 --horizon 8 -q".split()
    assert main([*fit, str(tmp_path / "one")]) == 0

    env = dict(os.environ, JAX_COORDINATOR_ADDRESS=f"localhost:{_free_port()}")
    env.update(JAX_NUM_PROCESSES="2", JAX_PLATFORMS="cpu")
    cmd = [sys.executable, "-m", "s5ts", *fit, str(tmp_path / "two"), "--distributed"]
    procs = [
        subprocess.Popen(cmd, env=env | {"JAX_PROCESS_ID": str(i)}, stderr=subprocess.PIPE)
        for i in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()[-3000:]

    one, two = S5Forecaster.load(tmp_path / "one"), S5Forecaster.load(tmp_path / "two")
    hist = df.filter(pl.col("ds") <= 16.0)
    a = one.predict(hist, static_df=static_df, h=3, level=[80]).drop("unique_id", "ds")
    b = two.predict(hist, static_df=static_df, h=3, level=[80]).drop("unique_id", "ds")
    np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=1e-4, atol=1e-4)
