"""How the MNIST models train: one commented dict per model, the keys those of
`training.recipes.DEFAULTS` (which says what each means); `python -m training NAME --epochs E
--batch-size B --seed S` override them."""

RECIPES = {
    "mnist_softmax": dict(
        epochs=10,
        batch_size=128,
        schedule="cosine",
    ),
    "mnist_cnn": dict(
        epochs=15,  # 99.5%+ needs augmentation and a cosine tail more than many epochs
        batch_size=128,
        schedule="onecycle",
        warmup_epochs=1.0,
        augment="shift2",  # random translations of up to 2 pixels
    ),
    "mnist_fast": dict(
        epochs=7,  # on 24x24 crops (0.8x the time an epoch): validation 99.32% at 7 epochs,
        # 99.33% at 8; 99.38% with the translated views (benchmarks/mnist_time_to_accuracy.py)
        batch_size=128,
        schedule="onecycle",
        warmup_epochs=1.0,
        augment="shift2",
    ),
    "mnist_micro": dict(
        epochs=15,  # 99 parameters on 23 fixed features: seconds an epoch
        batch_size=128,
        schedule="cosine",
    ),
    "mnist_tiny": dict(
        epochs=60,  # 190 parameters converge slowly but cheaply (seconds per epoch)
        batch_size=128,
        schedule="cosine",
    ),
}
