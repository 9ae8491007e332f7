"""What this machine's processor can do fast, for recipes whose best settings depend on it."""
from pathlib import Path

import tensorflow as tf

BFLOAT16_CPU_FLAGS = {"avx512_bf16", "amx_bf16"}


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The instruction-set flags of the first CPU in `cpuinfo` (empty where there is none)."""
    info = Path(cpuinfo)
    if not info.exists():
        return set()
    for line in info.read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def bfloat16_is_fast():
    """True with a GPU, or a CPU with bfloat16 instructions (AVX512_BF16 or AMX). Without them
    TensorFlow emulates bfloat16 and trains several times slower than float32 (0.12x for
    cifar10_fastnet on an AVX2-only CPU, benchmarks/results/cifar_speed.md)."""
    return bool(tf.config.list_physical_devices("GPU")) or bool(BFLOAT16_CPU_FLAGS & cpu_flags())


def effective_precision(requested):
    """`(policy, note)`: the recipe's dtype policy, or None (float32) when it asks for bfloat16
    on hardware that would emulate it; `note` says why, or is None."""
    if requested and "bfloat16" in requested and not bfloat16_is_fast():
        return None, (f"{requested} requested, but this machine has no GPU and no bfloat16 CPU "
                      f"instructions ({' / '.join(sorted(BFLOAT16_CPU_FLAGS))}): training in "
                      f"float32, which is faster here")
    return requested, None
