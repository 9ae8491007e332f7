"""What this machine's processor can do fast, for recipes whose best settings depend on it."""
import os
from pathlib import Path

import tensorflow as tf

BFLOAT16_CPU_FLAGS = {"avx512_bf16", "amx_bf16"}


def _first_cpu_field(field, cpuinfo):
    """The value of `field` for the first CPU in `cpuinfo`, or None (no such file or field)."""
    info = Path(cpuinfo)
    if not info.exists():
        return None
    for line in info.read_text().splitlines():
        if line.startswith(field):
            return line.split(":", 1)[1].strip()
    return None


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The instruction-set flags of the first CPU in `cpuinfo` (empty where there is none)."""
    return set((_first_cpu_field("flags", cpuinfo) or "").split())


def cpu_model(cpuinfo="/proc/cpuinfo"):
    """The first CPU's model name in `cpuinfo`, or "unknown CPU"."""
    return _first_cpu_field("model name", cpuinfo) or "unknown CPU"


def describe_cpu():
    """CPU model, core count and the vector extensions that decide training speed, e.g.
    "AMD EPYC, 2 cores, avx2" (cards and benchmarks record it)."""
    flags = cpu_flags()
    wide = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{cpu_model()}, {os.cpu_count()} cores, {' '.join(wide) or 'no AVX2'}"


def bfloat16_is_fast():
    """True with a GPU, or a CPU with bfloat16 instructions (AVX512_BF16 or AMX). Without them
    TensorFlow emulates bfloat16 and trains several times slower than float32 (0.12x for
    cifar10_fastnet on an AVX2-only CPU, benchmarks/results/cifar_speed-avx2.md)."""
    return bool(tf.config.list_physical_devices("GPU")) or bool(BFLOAT16_CPU_FLAGS & cpu_flags())


def effective_precision(requested):
    """`(policy, note)`: the recipe's dtype policy, or None (float32) when it asks for bfloat16
    on hardware that would emulate it; `note` says why, or is None."""
    if requested and "bfloat16" in requested and not bfloat16_is_fast():
        return None, (f"{requested} requested, but this machine has no GPU and no bfloat16 CPU "
                      f"instructions ({' / '.join(sorted(BFLOAT16_CPU_FLAGS))}): training in "
                      f"float32, which is faster here")
    return requested, None
