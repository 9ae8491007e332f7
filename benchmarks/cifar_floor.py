"""How near a CIFAR recipe's epoch is to what this CPU can do at best, in one run.

    python benchmarks/cifar_floor.py [--model cifar10_fastnet] [--images 8192] [--rounds 3]

Three figures, each measured here:
- the network's FLOPs per image, counted from its convolutions' and dense layers' kernel and
  output shapes, and for a training image 3x that (the backward pass costs about twice the
  forward: a gradient for the inputs and one for the weights);
- the machine's sustained fp32 rate on 3x3 convolutions: a forward convolution at each of the
  network's 3x3 convolution shapes (output size, channels in and out) at the recipe's batch
  size (at most 256), timed; the fastest counts, so the floor is the lowest and the recipe's
  multiple of it, if anything, overstated;
- the recipe's epoch time: the model as the recipe builds it (precision, jit setting) fitted
  on `--images` random images fed as training feeds them (the recipe's batches, shuffling and
  augmentation; after a warm-up epoch), the median epoch extrapolated to the 50,000 training
  images.

floor = 50,000 x training FLOPs per image / sustained rate; the last line (one JSON object)
holds the three figures, the floor, and the epoch time as a multiple of the floor. The card's
epoch time (the committed artifact's wall time / epochs) is printed beside it for reference.
"""
import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from training import pieces  # noqa: E402
from training.fit import machine  # noqa: E402
from training.recipes import recipe_for  # noqa: E402
from zoo import artifacts  # noqa: E402

TRAIN_IMAGES = 50_000
BACKWARD_FACTOR = 3  # forward + backward (input and weight gradients) ~ 3x the forward


def forward_flops(model):
    """FLOPs of one image's forward pass through the network's convolutions and dense layers
    (2 per multiply-add, from each layer's kernel and output shape; normalisation, activations
    and pooling, a few percent more, are left out; test-time views are not counted)."""
    flops = 0
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, _ = layer.output.shape
            flops += 2 * int(h) * int(w) * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * int(np.prod(layer.kernel.shape))
    return flops


def conv_shapes(model):
    """(height, width, in channels, out channels) of every 3x3 Conv2D, however nested."""
    shapes = set()
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.Conv2D) and tuple(layer.kernel_size) == (3, 3):
            _, h, w, _ = layer.output.shape
            shapes.add((int(h), int(w), int(layer.kernel.shape[2]), int(layer.filters)))
    return sorted(shapes)


def conv_rate(height, width, cin, cout, batch, rounds=5):
    """Sustained GFLOP/s of a 'same' 3x3 convolution (fp32, NHWC) at that shape."""
    x = tf.random.normal((batch, height, width, cin))
    kernel = tf.random.normal((3, 3, cin, cout))
    conv = tf.function(lambda x: tf.nn.conv2d(x, kernel, 1, "SAME"))
    conv(x).numpy()  # trace and warm up
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        conv(x).numpy()
        seconds.append(time.perf_counter() - start)
    flops = 2 * batch * height * width * cin * cout * 9
    return flops / statistics.median(seconds) / 1e9


def epoch_seconds(model, recipe, images, rounds, shape):
    """The recipe-built model's seconds for 50,000 training images, from epochs over random
    ones fed as training feeds them (`training.pieces.train_dataset`: the recipe's batches,
    shuffling and augmentation)."""
    rng = np.random.default_rng(0)
    train = (rng.integers(0, 256, (images, *shape), dtype="uint8"), rng.integers(0, 10, images))
    steps = images // recipe["batch_size"]
    if steps < 2:
        raise SystemExit(f"--images must give at least two batches of {recipe['batch_size']}")
    batches = pieces.train_dataset(train, {**recipe, "epochs": rounds + 1}, drop_remainder=True)
    model.fit(batches, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)  # warm-up
    timer = EpochTimer()
    model.fit(batches, steps_per_epoch=steps, initial_epoch=1, epochs=rounds + 1, shuffle=False,
              verbose=0, callbacks=[timer])
    return TRAIN_IMAGES / (steps * recipe["batch_size"]) * statistics.median(timer.seconds)


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def card_epoch_seconds(name):
    card = artifacts.read_card(name)
    return card["wall_seconds"] / card["epochs"] if card else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="cifar10_fastnet")
    parser.add_argument("--images", type=int, default=8192)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    recipe = recipe_for(args.model)
    model = pieces.build_model(args.model, {}, recipe)
    shape = tuple(model.inputs[0].shape[1:])
    forward = forward_flops(model)
    print(f"{args.model}: {forward / 1e9:.3f} GFLOP forward, {BACKWARD_FACTOR * forward / 1e9:.3f} "
          f"GFLOP per training image", flush=True)
    rates = {}
    for h, w, cin, cout in conv_shapes(model):
        rates[f"{h}x{w}x{cin}->{cout}"] = conv_rate(h, w, cin, cout, min(recipe["batch_size"], 256))
        print(f"  3x3 conv {h}x{w}x{cin}->{cout}: {rates[f'{h}x{w}x{cin}->{cout}']:.1f} GFLOP/s",
              flush=True)
    best = max(rates.values())
    floor = TRAIN_IMAGES * BACKWARD_FACTOR * forward / (best * 1e9)
    epoch = epoch_seconds(model, recipe, args.images, args.rounds, shape)
    card = card_epoch_seconds(args.model)
    on_card = f"; the card's {card:.0f} s" if card else ""
    print(f"floor {floor:.0f} s an epoch; recipe {epoch:.0f} s ({epoch / floor:.2f}x the "
          f"floor){on_card}", flush=True)
    print(json.dumps({"model": args.model, "forward_gflop_per_image": forward / 1e9,
                      "train_gflop_per_image": BACKWARD_FACTOR * forward / 1e9,
                      "conv_gflops": rates, "sustained_gflops": best,
                      "floor_epoch_seconds": floor, "recipe_epoch_seconds": epoch,
                      "epoch_over_floor": epoch / floor, "card_epoch_seconds": card,
                      "recipe_epochs": recipe["epochs"], "machine": machine()}))


if __name__ == "__main__":
    main()
