"""Scan and S5-layer speed, as ratios measured in one process.

For each shape (B, L, P, H) and each scan backend it prints:

- `elementwise`: one complex multiply over (B, L, P) complex64 tensors, the memory-bound
  floor, in ms;
- `scan fwd`: the linear recurrence over those tensors, batch vmapped around the scan
  (`vmap`) and with the time axis leading (`time-mj`), as multiples of `elementwise`;
- `layer fwd`: one S5 layer (P complex states, H features) on a time-major batch, as a
  multiple of `elementwise` and in ms;
- `f+b / fwd`: the layer's value and gradient with respect to its parameters, as a
  multiple of its forward (target <= 3), and `(+u)`: with respect to its input `u` too,
  as inside a stack;
- `vmap / t-mj`: the layer forward called as `jax.vmap(layer)(u, dt)` on batch-major data,
  as a multiple of the time-major call `layer(u.swapaxes(0, 1), dt.T)` (target <= 1.15);
- `vmap f+b / t-mj f+b`: the same for value and gradient.

Every timed function runs once per round, round after round (interleaved), and each
figure is the median over the rounds, so machine load largely cancels in the ratios.

    python benchmarks/scan.py [--repeats 15] [--backends sequential associative]
"""

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import s5ts


SHAPES = {"large": (64, 512, 64, 64), "physionet-like": (32, 96, 64, 64)}
BACKENDS = {
    "sequential": s5ts.SequentialScan(),
    "sequential-unroll8": s5ts.SequentialScan(unroll=8),
    "associative": s5ts.AssociativeScan(),
}


def interleaved(fns, repeats):
    """Median seconds of each `name: (fn, args)`, timed round-robin after a compile."""
    for fn, args in fns.values():
        jax.block_until_ready(fn(*args))
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, (fn, args) in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}


@eqx.filter_jit
def _fwd(layer, u, dt):
    return layer(u, dt)


@eqx.filter_jit
def _fwd_vmap(layer, u, dt):
    return jax.vmap(layer)(u, dt)


@eqx.filter_jit
def _fwd_bwd(layer, u, dt):
    # Value and gradient with respect to the layer's parameters.
    return eqx.filter_value_and_grad(lambda m: jnp.mean(m(u, dt) ** 2))(layer)


@eqx.filter_jit
def _fwd_bwd_u(layer, u, dt):
    # ... and with respect to its input.
    loss = lambda layer_u: jnp.mean(layer_u[0](layer_u[1], dt) ** 2)  # noqa: E731
    return eqx.filter_value_and_grad(loss)((layer, u))


@eqx.filter_jit
def _fwd_bwd_vmap(layer, u, dt):
    return eqx.filter_value_and_grad(lambda m: jnp.mean(jax.vmap(m)(u, dt) ** 2))(layer)


def bench(shape, backends, repeats):
    B, L, P, H = shape
    key = jax.random.key(0)
    k1, k2, k3, k4 = jax.random.split(key, 4)
    radius = jax.random.uniform(k1, (B, L, P), minval=0.5, maxval=0.99)
    a = (radius * jnp.exp(1j * jax.random.normal(k2, (B, L, P)))).astype(jnp.complex64)
    b = jax.random.normal(k3, (B, L, P)).astype(jnp.complex64)
    x0 = jnp.zeros((B, P), jnp.complex64)
    u = jax.random.normal(k4, (B, L, H))
    dt = jax.random.exponential(k4, (B, L))
    a_t, b_t = jnp.swapaxes(a, 0, 1), jnp.swapaxes(b, 0, 1)
    u_t, dt_t = jnp.swapaxes(u, 0, 1), dt.T

    rows = []
    for name in backends:
        backend = BACKENDS[name]
        layer = s5ts.S5Layer(H, 2 * P, scan=backend, key=key)
        fns = {
            "elementwise": (jax.jit(lambda a, b: a * b), (a, b)),
            "scan vmap": (jax.jit(jax.vmap(backend)), (a, b, x0)),
            "scan time-major": (jax.jit(backend), (a_t, b_t, x0)),
            "fwd": (_fwd, (layer, u_t, dt_t)),
            "fwd vmap": (_fwd_vmap, (layer, u, dt)),
            "fb": (_fwd_bwd, (layer, u_t, dt_t)),
            "fb u": (_fwd_bwd_u, (layer, u_t, dt_t)),
            "fb vmap": (_fwd_bwd_vmap, (layer, u, dt)),
        }
        t = interleaved(fns, repeats)
        ref = t["elementwise"]
        rows.append(
            (
                name,
                ref * 1e3,
                t["scan vmap"] / ref,
                t["scan time-major"] / ref,
                t["fwd"] / ref,
                t["fwd"] * 1e3,
                t["fb"] / t["fwd"],
                t["fb u"] / t["fwd"],
                t["fwd vmap"] / t["fwd"],
                t["fb vmap"] / t["fb"],
            )
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=list(BACKENDS))
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    args = parser.parse_args()
    print(f"JAX {jax.__version__}, backend {jax.default_backend()}, devices {jax.devices()}")
    print(f"default scan here: {type(s5ts.default_scan()).__name__}")
    header = (
        f"{'backend':<20}{'elementwise':>12}{'scan fwd':>10}{'scan fwd':>10}{'layer fwd':>10}"
        f"{'layer fwd':>10}{'f+b /':>8}{'(+u)':>7}{'vmap /':>8}{'vmap f+b /':>12}"
    )
    units = (
        f"{'':<20}{'ms':>12}{'(vmap)':>10}{'(time-mj)':>10}{'(time-mj)':>10}{'ms':>10}"
        f"{'fwd':>8}{'':>7}{'t-mj':>8}{'t-mj f+b':>12}"
    )
    for label in args.shapes:
        shape = SHAPES[label]
        print(f"\n{label}: (B, L, P, H) = {shape}")
        print(header)
        print(units)
        for name, ref, bm, tm, fwd, fwd_ms, fb, fb_u, vm, vfb in bench(
            shape, args.backends, args.repeats
        ):
            print(
                f"{name:<20}{ref:>12.3f}{bm:>9.2f}x{tm:>9.2f}x{fwd:>9.1f}x{fwd_ms:>10.2f}"
                f"{fb:>7.2f}x{fb_u:>6.2f}x{vm:>7.2f}x{vfb:>11.2f}x"
            )


if __name__ == "__main__":
    main()
