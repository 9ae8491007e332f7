"""`tf.distribute` strategies by name: one device, several GPUs, logical CPUs, several workers.

Specs: `auto` (MirroredStrategy over all GPUs when there are several, else the default strategy),
`one`, `mirrored` (all GPUs; or `mirrored:/gpu:0,/gpu:1` for a device list), `cpu:N` (N logical
CPU devices: how multi-device code is exercised on a CPU-only machine), `multiworker`
(MultiWorkerMirroredStrategy from `TF_CONFIG`, or from Slurm's variables when under `srun`).
"""
import json
import os

import tensorflow as tf


def configure_logical_cpus(n):
    """Split the CPU into `n` logical devices. Must run before TensorFlow initialises its
    devices (before any op); afterwards it is a no-op if the split already matches."""
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
    except RuntimeError:
        have = len(tf.config.list_logical_devices("CPU"))
        if have < n:
            raise RuntimeError(
                f"cannot make {n} logical CPUs: TensorFlow already initialised with {have}. "
                f"Choose the strategy before building models or running ops.") from None


_MIRRORED = {}


def _mirrored(devices=None):
    """One MirroredStrategy per device list per process: a second instance over the same
    devices makes TensorFlow's collective all-reduce fail ("CollectiveReduceV2")."""
    key = tuple(devices) if devices else None
    if key not in _MIRRORED:
        _MIRRORED[key] = tf.distribute.MirroredStrategy(list(devices) if devices else None)
    return _MIRRORED[key]


def strategy(spec="auto"):
    """Return the `tf.distribute.Strategy` named by `spec` (see the module docstring)."""
    spec = (spec or "auto").strip()
    if spec == "one":
        return tf.distribute.OneDeviceStrategy("/cpu:0" if not tf.config.list_physical_devices(
            "GPU") else "/gpu:0")
    if spec == "auto":
        gpus = tf.config.list_physical_devices("GPU")
        return _mirrored() if len(gpus) > 1 else tf.distribute.get_strategy()
    if spec == "mirrored":
        return _mirrored()
    if spec.startswith("mirrored:"):
        return _mirrored(spec.split(":", 1)[1].split(","))
    if spec.startswith("cpu:"):
        count = spec.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"cpu:N takes a device count N >= 1, got {spec!r}")
        n = int(count)
        configure_logical_cpus(n)
        return _mirrored([f"/cpu:{i}" for i in range(n)])
    if spec == "multiworker":
        return multiworker_strategy()
    raise ValueError(f"unknown strategy {spec!r}; use auto, one, mirrored, mirrored:DEV,DEV, "
                     f"cpu:N or multiworker")


def multiworker_strategy():
    """MultiWorkerMirroredStrategy from `TF_CONFIG`, else from a Slurm allocation."""
    if "TF_CONFIG" in os.environ:
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    elif "SLURM_JOB_ID" in os.environ:
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver()
    else:
        raise RuntimeError("--strategy multiworker needs TF_CONFIG (see README, 'Several "
                           "hosts') or a Slurm allocation (srun)")
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING)
    return tf.distribute.MultiWorkerMirroredStrategy(resolver, communication_options=options)


def is_multiworker(strat):
    return isinstance(strat, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strat):
    """True on the worker that writes artifacts (the only worker outside multi-worker)."""
    if not is_multiworker(strat):
        return True
    resolver = strat.cluster_resolver
    return resolver.task_type in (None, "chief") or (
        resolver.task_type == "worker" and resolver.task_id == 0
        and "chief" not in json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {}))


def from_option(spec):
    """`strategy(spec)` for a command line's `--strategy`: a bad spec is a ValueError that
    names the option (one `error:` line through `zoo.cli.run_command`, exit status 2)."""
    try:
        return strategy(spec)
    except ValueError as error:
        raise ValueError(f"--strategy: {error}") from None
