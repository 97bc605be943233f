"""Scan and S5-layer speed as ratios to one elementwise pass over the same tensors.

For each shape (B, L, P, H) and each scan backend it prints:

- `scan fwd`: the linear recurrence over (B, L, P) complex64 tensors;
- `layer fwd` and `layer f+b`: one S5 layer (P complex states, H features) forward,
  and its value and gradient, on a time-major batch and (f+b only) through vmap;

each divided by the time of one elementwise complex multiply over the same (B, L, P)
tensors (the memory-bound floor), all measured in this process, interleaved, so that
machine noise cancels in the ratios. Two batch layouts are measured for the scan: the
batch vmapped around the scan (batch-major) and the time axis leading (time-major).

    python benchmarks/scan.py [--repeats 30]
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


def _time(fn, *args, repeats):
    jax.block_until_ready(fn(*args))  # compile
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench(shape, repeats):
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

    elementwise = jax.jit(lambda a, b: a * b)
    rows = []
    base = _time(elementwise, a, b, repeats=repeats)
    for name, backend in BACKENDS.items():
        batch_major = jax.jit(jax.vmap(backend))
        time_major = jax.jit(backend)  # (L, B, P) with a (B, P) state: no vmap at all
        layer = s5ts.S5Layer(H, 2 * P, scan=backend, key=key)

        @eqx.filter_jit
        def fwd_bwd(layer, u, dt):
            # u and dt time-major, (L, B, H) and (L, B): the layer's own batch layout.
            return eqx.filter_value_and_grad(lambda m: jnp.mean(m(u, dt) ** 2))(layer)

        @eqx.filter_jit
        def fwd_bwd_vmap(layer, u, dt):
            loss = lambda m: jnp.mean(jax.vmap(m)(u, dt) ** 2)  # noqa: E731
            return eqx.filter_value_and_grad(loss)(layer)

        @eqx.filter_jit
        def fwd(layer, u, dt):
            return layer(u, dt)

        # Interleave each measurement with a fresh baseline so the ratio shares the noise.
        t_bm = _time(batch_major, a, b, x0, repeats=repeats)
        t_tm = _time(time_major, a_t, b_t, x0, repeats=repeats)
        u_t, dt_t = jnp.swapaxes(u, 0, 1), dt.T
        t_fwd = _time(fwd, layer, u_t, dt_t, repeats=repeats)
        t_layer = _time(fwd_bwd, layer, u_t, dt_t, repeats=max(3, repeats // 3))
        t_layer_vmap = _time(fwd_bwd_vmap, layer, u, dt, repeats=max(3, repeats // 3))
        ref = 0.5 * (base + _time(elementwise, a, b, repeats=repeats))
        rows.append(
            (name, t_bm / ref, t_tm / ref, t_fwd / ref, t_layer / ref, t_layer_vmap / ref, ref)
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print(f"JAX {jax.__version__}, backend {jax.default_backend()}, devices {jax.devices()}")
    print(f"default scan here: {type(s5ts.default_scan()).__name__}")
    for label, shape in SHAPES.items():
        print(f"\n{label}: (B, L, P, H) = {shape}")
        print(
            f"{'backend':<20}{'scan fwd':>10}{'scan fwd':>10}{'layer fwd':>11}"
            f"{'layer f+b':>11}{'layer f+b':>11}{'elementwise':>13}"
        )
        print(
            f"{'':<20}{'(vmap)':>10}{'(time-mj)':>10}{'(time-mj)':>11}{'(time-mj)':>11}"
            f"{'(vmap)':>11}{'ms':>13}"
        )
        for name, bm, tm, fwd, fb, fb_vmap, ref in bench(shape, args.repeats):
            print(
                f"{name:<20}{bm:>9.2f}x{tm:>9.2f}x{fwd:>10.1f}x{fb:>10.1f}x{fb_vmap:>10.1f}x"
                f"{ref * 1e3:>13.3f}"
            )


if __name__ == "__main__":
    main()
