"""Generative models on MNIST: a variational autoencoder, a class-conditional GAN and a
denoising diffusion model.

`models.py` holds the registered builders, their search spaces and how each is measured
(`report_*`), `recipes.py` how each trains, `quality.py` the offline sample-quality measures
(FID and classifier score with the zoo's `mnist_cnn`), and one module per network."""
from zoo.models.generative import models  # noqa: F401  (registers the builders)
