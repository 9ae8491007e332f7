"""How the CIFAR models train: one commented dict per model, the keys those of
`training.recipes.DEFAULTS` (which says what each means); `python -m training NAME --epochs E
--batch-size B --seed S` override them."""

RECIPES = {
    "cifar10_fastnet": dict(
        epochs=14,  # airbench94 reaches 94.0% in 9.9 epochs; this port reached 93.69% in 10
        # (first run, 2026-11-25), so 40% more epochs; nothing else changed, no test-set tuning.
        # airbench94's own schedule and pieces at 10 epochs (epochs=10, warmup_epochs=2.3,
        # lr_start=0.2, lr_end=0.07, augment="altflip_reflect2", freeze_whitening_after=3)
        # reached 93.87%, 94.10% and 94.09% (seeds 0, 1, 2; 2026-11-27/28, docs/cifar.md): a mean
        # (94.02%) on the bar, not over it, and seed 0 short of it, so the saved model keeps
        # this recipe
        batch_size=1024,
        val_size=0,  # like airbench, train on all 50,000 (the recipe is airbench's, not tuned)
        schedule="onecycle",  # airbench's triangle: up for 23% of the steps, then down
        warmup_epochs=3.2,
        augment="flip_reflect2",
        weight_averaging=dict(every=5, decay=0.95),
        jit_compile=False,  # oneDNN convolutions beat XLA's 2x on this CPU
    ),
    "cifar10_fastnet95": dict(
        epochs=15,  # airbench95's, with airbench's schedule ends and pieces (not tuned here)
        batch_size=1024,
        val_size=0,
        schedule="onecycle",  # the triangle from 0.2 through 1 at 23% of the steps to 0.07
        warmup_epochs=3.45,
        lr_start=0.2,
        lr_end=0.07,
        augment="altflip_reflect2",  # random flips cost airbench95 0.06 points (94.95%)
        freeze_whitening_after=3,
        weight_averaging=dict(every=5, decay=0.95),
        jit_compile=False,
    ),
    "cifar10_muon": dict(
        epochs=10,  # airbench94_muon's schedule stretched from its 8 epochs (94.01% mean) to
        # the 10 the open challenge allows (#21); its other pieces as it has them, not tuned here
        batch_size=2000,
        val_size=0,
        schedule="onecycle",  # no warm-up: linear decay from the peak to zero
        augment="altflip_reflect2",
        freeze_whitening_after=3,  # airbench94_muon decays the whitening bias's rate to zero
        # over the first 3 epochs; here it follows the others' rate and then stops
        jit_compile=False,
    ),
    "cifar100_resnet": dict(
        epochs=15,  # the fastnet recipe, half again as long for 100 classes
        batch_size=1024,
        val_size=0,
        schedule="onecycle",
        warmup_epochs=3.5,  # 23% of the steps, as airbench
        augment="flip_reflect2",
        weight_averaging=dict(every=5, decay=0.95),
        jit_compile=False,
    ),
    "cifar10_resnet20": dict(
        epochs=30,  # He et al. train 164 epochs; a one-cycle schedule with averaging in 30
        batch_size=128,  # the paper's; on the AVX2 machine 148 images/s against 117 for the
        # earlier batch 512 in float32 (benchmarks/results/cifar_speed-avx2*.md), and 4x the steps
        val_size=0,
        schedule="onecycle",
        warmup_epochs=3.0,
        augment="flip_shift4",  # the paper's 4-pixel zero-padded shifts and flips
        weight_averaging=dict(every=5, decay=0.95),
        jit_compile=False,  # XLA: 1.00x on the AVX2 machine, after a long compile
        # float32 everywhere: a run that resumes on another machine keeps its arithmetic
        # (bfloat16 was 2x on an AMX machine at batch 512, 7x slower where it is emulated)
        precision=None,
    ),
}
