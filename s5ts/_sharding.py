"""Data parallelism with `jax.sharding`: one 1-D mesh over every device, axis "batch".

Batches are split along their first axis across the mesh; parameters and optimiser state
are replicated. The jitted step and forecast functions then run partitioned by XLA, which
inserts the gradient all-reduce itself. With one device all of this is skipped, so the
single-device path is unchanged. Multi-host: `initialize_distributed` (JAX's own runtime)
makes `jax.devices()` span every process, and the same code runs on the global mesh.
"""

import os

import equinox as eqx
import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P


AXIS = "batch"
DISTRIBUTED_ENV = "S5TS_DISTRIBUTED"


def initialize_distributed(force: bool = False) -> bool:
    """Call `jax.distributed.initialize()` when asked (flag or `S5TS_DISTRIBUTED=1`).

    Must run before anything touches a device. JAX reads the coordinator's `host:port`
    from `JAX_COORDINATOR_ADDRESS`; the process count and this process's id are taken from
    `JAX_NUM_PROCESSES` / `JAX_PROCESS_ID` when set, else JAX detects them from the cluster
    (SLURM, Open MPI, Kubernetes, ...).
    """
    if not (force or os.environ.get(DISTRIBUTED_ENV, "") not in ("", "0")):
        return False
    kwargs = {}
    for arg, env in (("num_processes", "JAX_NUM_PROCESSES"), ("process_id", "JAX_PROCESS_ID")):
        if os.environ.get(env):
            try:
                kwargs[arg] = int(os.environ[env])
            except ValueError:
                raise ValueError(f"{env} must be an integer, got {os.environ[env]!r}") from None
    jax.distributed.initialize(**kwargs)
    return True


def data_mesh() -> Mesh | None:
    """The mesh over all (global) devices, or None with a single device."""
    devices = jax.devices()
    if len(devices) == 1:
        return None
    return Mesh(np.asarray(devices), (AXIS,))


def check_divisible(batch_size: int, mesh: Mesh | None, what: str = "batch_size") -> None:
    if mesh is not None and batch_size % mesh.size:
        raise ValueError(
            f"{what} ({batch_size}) must be divisible by the number of devices ({mesh.size}) "
            f"for data-parallel training; use a multiple of {mesh.size}"
        )


def padded_size(n: int, mesh: Mesh | None) -> int:
    """`n` rounded up to a multiple of the device count."""
    k = 1 if mesh is None else mesh.size
    return -(-n // k) * k


def _put(x: np.ndarray, sharding: NamedSharding) -> jax.Array:
    # From the full host array every process supplies its own shards: works on one host
    # and on many (each host holds the same global batch, from the same seed).
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])


def shard_batch(batch, mesh: Mesh | None):
    """Split every array of a (NamedTuple) batch along its first axis over the mesh."""
    if mesh is None:
        return batch
    check_divisible(len(batch[0]), mesh, "the batch size")
    sharding = NamedSharding(mesh, P(AXIS))
    return type(batch)(*(_put(a, sharding) for a in batch))


def replicate(tree, mesh: Mesh | None):
    """Every array leaf of `tree` (model, optimiser state, key) copied to every device."""
    if mesh is None:
        return tree
    sharding = NamedSharding(mesh, P())
    arrays, static = eqx.partition(tree, eqx.is_array)
    arrays = jax.tree.map(lambda a: jax.device_put(a, sharding), arrays)
    return eqx.combine(arrays, static)


def to_host(x: jax.Array) -> np.ndarray:
    """A (possibly sharded, possibly multi-host) array as one numpy array."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)
