"""`s5ts.S5Layer` against the official S5 layer (lindermanlab/S5), timed in one process.

The official layer is `s5.ssm.S5SSM` with `variable_observation_interval=True`, the
path that discretises every event with its own gap (on the repository's `pendulum` and
`reg` branches). Its code is imported from a directory you give, a checkout of that
repository; nothing of it is copied here. It needs flax, which s5ts does not depend on:

    pip install flax
    python benchmarks/peer_s5.py --s5-source DIR [--repeats 10]

where DIR is a checkout of lindermanlab/S5 on its `reg` (or `pendulum`) branch.

At each shape (B, L, P, H) — P complex states, H features — the script builds the
official layer as its `train.py` does (HiPPO-N, conjugate symmetry, one block, ZOH,
`trunc_standard_normal` C), copies its parameters into an `s5ts.S5Layer`, checks that the
two give the same outputs to float32 tolerance (the official layer holds its first event
over a gap of 1, so s5ts gets `dt = [1, gaps...]`), then times forward and
forward+backward (gradient with respect to the parameters and the input) of both,
interleaved, medians over rounds. The official layer acts on one sequence and is
vmapped over the batch; s5ts runs batch-major under vmap and time-major.

Without `--s5-source`, or without flax, it says so and exits with status 0.
"""

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import s5ts


SHAPES = {"large": (64, 512, 64, 64), "physionet-like": (32, 96, 64, 64)}


def interleaved(fns, repeats):
    """Median seconds of each `name: (fn, args)`, timed round-robin after a compile."""
    with contextlib.redirect_stdout(io.StringIO()):  # the official layer prints on tracing
        for fn, args in fns.values():
            jax.block_until_ready(fn(*args))
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, (fn, args) in fns.items():
            # An untimed call first: after the official layer's gigabytes are freed, the
            # next call would otherwise pay for faulting its memory back in.
            jax.block_until_ready(fn(*args))
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}


def _import_official(source):
    if not (Path(source) / "s5" / "ssm.py").is_file():
        return None, f"--s5-source {source}: no s5/ssm.py there (a lindermanlab/S5 checkout?)"
    try:
        import flax  # noqa: F401
    except ImportError:
        return None, "flax is not installed (pip install flax): skipping the comparison"
    # The pendulum branch annotates with `jax.numpy.DeviceArray`, gone from recent JAX.
    if not hasattr(jnp, "DeviceArray"):
        jnp.DeviceArray = jax.Array
    sys.path.insert(0, str(Path(source).resolve()))
    from s5 import ssm, ssm_init

    if "variable_observation_interval" not in ssm.S5SSM.__dataclass_fields__:
        return None, (
            f"{source}: this S5 has no variable-observation-interval path; check out its "
            "`reg` or `pendulum` branch"
        )
    return (ssm, ssm_init), None


def _official_layer(ssm, ssm_init, H, P):
    # As the official train.py: HiPPO-N of size 2P, conjugate symmetry keeps P states.
    Lambda, _, _, V, _ = ssm_init.make_DPLR_HiPPO(2 * P)
    Lambda, V = Lambda[:P], V[:, :P]
    return ssm.S5SSM(
        H=H,
        P=P,
        Lambda_re_init=Lambda.real,
        Lambda_im_init=Lambda.imag,
        V=V,
        Vinv=V.conj().T,
        C_init="trunc_standard_normal",
        discretization="zoh",
        dt_min=0.001,
        dt_max=0.1,
        variable_observation_interval=True,
        conj_sym=True,
        clip_eigs=False,
        bidirectional=False,
    )


def _ours_from(params, H, P):
    p = params["params"]
    layer = s5ts.S5Layer(H, 2 * P, key=jax.random.key(0))
    values = {
        "Lambda_log_neg_re": jnp.log(-p["Lambda_re"]),
        "Lambda_im": p["Lambda_im"],
        "B_re": p["B"][..., 0],
        "B_im": p["B"][..., 1],
        "C_re": p["C"][..., 0],
        "C_im": p["C"][..., 1],
        "D": p["D"],
        "log_step": p["log_step"][:, 0],
    }
    for name, value in values.items():
        old = getattr(layer, name)
        assert old.shape == value.shape, (name, old.shape, value.shape)
        layer = eqx.tree_at(lambda m, n=name: getattr(m, n), layer, value.astype(old.dtype))
    return layer


def bench(modules, shape, repeats):
    ssm, ssm_init = modules
    B, L, P, H = shape
    k_init, k_u, k_dt = jax.random.split(jax.random.key(0), 3)
    official = _official_layer(ssm, ssm_init, H, P)
    u = jax.random.normal(k_u, (B, L, H))
    gaps = jax.random.exponential(k_dt, (B, L - 1))  # the official layer's timesteps
    with contextlib.redirect_stdout(io.StringIO()):
        params = official.init(k_init, u[0], gaps[0])
    ours = _ours_from(params, H, P)
    dt = jnp.concatenate([jnp.ones((B, 1)), gaps], axis=1)  # its first event: a gap of 1
    u_t, dt_t = jnp.swapaxes(u, 0, 1), dt.T

    def official_fwd(params, u, gaps):
        return jax.vmap(lambda u, g: official.apply(params, u, g))(u, gaps)

    def official_loss(params_u, gaps):
        return jnp.mean(official_fwd(params_u[0], params_u[1], gaps) ** 2)

    def ours_loss(layer_u, dt):
        return jnp.mean(layer_u[0](layer_u[1], dt) ** 2)

    def ours_loss_vmap(layer_u, dt):
        return jnp.mean(jax.vmap(layer_u[0])(layer_u[1], dt) ** 2)

    fns = {
        "official fwd": (jax.jit(official_fwd), (params, u, gaps)),
        "ours fwd (vmap)": (eqx.filter_jit(lambda m, u, dt: jax.vmap(m)(u, dt)), (ours, u, dt)),
        "ours fwd (time-major)": (eqx.filter_jit(lambda m, u, dt: m(u, dt)), (ours, u_t, dt_t)),
        "official f+b": (jax.jit(jax.value_and_grad(official_loss)), ((params, u), gaps)),
        "ours f+b (vmap)": (
            eqx.filter_jit(eqx.filter_value_and_grad(ours_loss_vmap)),
            ((ours, u), dt),
        ),
        "ours f+b (time-major)": (
            eqx.filter_jit(eqx.filter_value_and_grad(ours_loss)),
            ((ours, u_t), dt_t),
        ),
    }

    with contextlib.redirect_stdout(io.StringIO()):
        want = np.asarray(fns["official fwd"][0](params, u, gaps))
    got = np.asarray(fns["ours fwd (vmap)"][0](ours, u, dt))
    got_t = np.asarray(fns["ours fwd (time-major)"][0](ours, u_t, dt_t)).swapaxes(0, 1)
    scale = np.abs(want).max()
    error = max(np.abs(got - want).max(), np.abs(got_t - want).max()) / scale
    assert error < 1e-4, f"outputs differ: max |ours - official| = {error:.2e} of max |y|"
    return interleaved(fns, repeats), error


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--s5-source", help="a checkout of lindermanlab/S5 (reg or pendulum)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    args = parser.parse_args()
    if args.s5_source is None:
        print("No --s5-source given: nothing to compare against (see this script's docstring).")
        return
    modules, why_not = _import_official(args.s5_source)
    if modules is None:
        print(why_not)
        return
    print(f"JAX {jax.__version__}, backend {jax.default_backend()}, s5ts scan: ", end="")
    print(type(s5ts.default_scan()).__name__)
    for label in args.shapes:
        shape = SHAPES[label]
        t, error = bench(modules, shape, args.repeats)
        print(f"\n{label}: (B, L, P, H) = {shape}; outputs agree to {error:.1e} of max |y|")
        for what in ("fwd", "f+b"):
            base = t[f"official {what}"]
            print(f"  official {what:<22}{base * 1e3:>10.2f} ms")
            for layout in ("vmap", "time-major"):
                ours = t[f"ours {what} ({layout})"]
                print(
                    f"  s5ts {what} ({layout}){'':<{13 - len(layout)}}{ours * 1e3:>10.2f} ms"
                    f"   {base / ours:6.1f}x faster"
                )


if __name__ == "__main__":
    main()
