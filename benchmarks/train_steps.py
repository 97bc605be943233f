"""Seconds per training step of the PhysioNet 2012 configuration, from the fit's callbacks.

The recorded configuration of `physionet.py` (same split, scaling, statics, loss,
weights, batch 32), fitted for `--steps` steps with validation every 100. A callback
stamps every completed step, so the figures separate the plain steps (drawing a batch,
the jitted step, the moving average of the weights) from the validation passes (the
2,400 validation stays forecast every 100 steps).

Usage, from the repository root::

    .venv/bin/python benchmarks/train_steps.py              # 400 steps, about a minute

To compare two versions, run it on each checkout in turn on an otherwise idle machine.
"""

import argparse
import time

import numpy as np
from physionet import recorded_fit

import s5ts


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    data = recorded_fit()
    if data is None:
        return
    train, val, static, hyper = data
    stamps: list[tuple[float, bool]] = []

    def stamp(info) -> None:
        stamps.append((time.perf_counter(), info.val_loss is not None))

    model = s5ts.S5Forecaster(**hyper, max_steps=args.steps, random_state=args.seed, verbose=False)
    t0 = time.perf_counter()
    model.fit(train, static, val_df=val, callbacks=stamp)
    total = time.perf_counter() - t0
    t = np.array([s for s, _ in stamps])
    validated = np.array([v for _, v in stamps])[1:]
    gaps = np.diff(t)
    plain, with_val = gaps[~validated], gaps[validated]
    print(f"fit {total:.1f} s for {len(t)} steps: {total / len(t):.4f} s per step overall")
    print(f"before the first step (reading, scalings, prior, compiling): {t[0] - t0:.1f} s")
    print(f"plain step: median {np.median(plain) * 1e3:.1f} ms, mean {plain.mean() * 1e3:.1f} ms")
    print(
        f"step with a validation pass: mean {with_val.mean():.2f} s "
        f"({len(with_val)} passes, {with_val.sum():.1f} s in all)"
    )
    print(f"after the last step: {t0 + total - t[-1]:.1f} s")


if __name__ == "__main__":
    main()
