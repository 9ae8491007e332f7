"""How the generative models train: one commented dict per model, the keys those of
`training.recipes.DEFAULTS` (which says what each means); `python -m training NAME --epochs E
--batch-size B --seed S` override them."""

RECIPES = {
    "vae_mnist": dict(
        epochs=40,
        batch_size=128,
        schedule="cosine",
        augment="binarize",  # each pixel drawn anew every epoch with probability pixel/255
    ),
    "cgan_mnist": dict(
        epochs=15,
        batch_size=128,  # constant rates, as DCGAN: a decayed GAN rate freezes the game early
    ),
    "diffusion_mnist": dict(
        epochs=7,  # ~45 minutes on two cores; the cosine decay to zero smooths the end
        batch_size=128,
        schedule="cosine",
        warmup_epochs=0.2,
    ),
}
