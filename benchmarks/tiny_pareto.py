"""MNIST with at most 100 learned parameters: candidate designs against validation accuracy.

    python benchmarks/tiny_pareto.py --data-dir DIR

Fixed, parameter-free front ends (a 4-pixel crop, then average pooling to a 4x4 / 5x5 grid, or
the k lowest-frequency 2-D DCT coefficients of the 20x20 crop), then a learned linear softmax,
a tanh bottleneck of h units with a learned softmax readout, or a tanh bottleneck read out by a
fixed code matrix (random +-1 codes or random unit vectors, scale 4: no learned values). Then
the designs that led to `mnist_micro`: oriented-gradient features (`zoo.layers.
OrientedGradients`, 16 on a 2x2 grid) alone or beside the DCT's, projected linearly (no bias)
to d dimensions and read by the nearest of ten learned class means (`zoo.layers.NearestMean`:
10 d values instead of a softmax's 10 (d + 1)). Each
design trains 15 epochs (Adam 0.02, cosine) on the zoo's 50,000 training images and is scored
on the 10,000 validation images carved from the training split: the test split is not read.
Prints one JSON line per design; the last line is the list of all of them.
"""
import argparse
import itertools
import json
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402

from zoo.data import load_splits  # noqa: E402
from zoo.layers import NearestMean, OrientedGradients  # noqa: E402
from zoo.layers.features import dct_basis, low_frequencies  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--data-dir")
args = parser.parse_args()
splits = load_splits("mnist", data_dir=args.data_dir)
(xt, yt), (xv, yv) = splits.train, splits.val
xt = xt.reshape(len(xt), 28, 28).astype("float32") / 255
xv = xv.reshape(len(xv), 28, 28).astype("float32") / 255

def crop(x, c=4): return x[:, c:28 - c, c:28 - c]

def pool(x, g):
    s = x.shape[1] // g
    return x[:, :g * s, :g * s].reshape(len(x), g, s, g, s).mean(axis=(2, 4)).reshape(len(x), -1)

def dct(x, k, c=4):
    x = crop(x, c)
    n = x.shape[1]
    b = dct_basis(n)
    coeffs = np.einsum("un,bnm,vm->buv", b, x, b)
    return np.stack([coeffs[:, u, v] for u, v in low_frequencies(n, n, k)], axis=1)

def codes(h, kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "binary":
        words = [w for w in itertools.product([-1, 1], repeat=h)]
        even = [w for w in words if sum(1 for b in w if b > 0) % 2 == 0]
        pool_ = even if len(even) >= 10 else words
        idx = rng.choice(len(pool_), 10, replace=False)
        return np.array([pool_[i] for i in idx], "float32")
    p = rng.normal(size=(10, h))
    return (p / np.linalg.norm(p, axis=1, keepdims=True)).astype("float32")

def model(features, h, readout, bias=True, act="tanh"):
    inp = keras.Input((features,))
    if h == 0:
        out = keras.layers.Dense(10, activation="softmax", use_bias=bias)(inp)
        return keras.Model(inp, out)
    z = keras.layers.Dense(h, activation=act, use_bias=bias)(inp)
    if readout == "learned":
        out = keras.layers.Dense(10, activation="softmax")(z)
    else:
        P = codes(h, readout)
        logits = keras.layers.Dense(10, use_bias=False, trainable=False, name="fixed")(z)
        out = keras.layers.Activation("softmax")(keras.layers.Rescaling(4.0)(logits))
        m = keras.Model(inp, out)
        m.get_layer("fixed").set_weights([P.T])
        return m
    return keras.Model(inp, out)

def means_model(features, d):
    inp = keras.Input((features,))
    return keras.Model(inp, NearestMean()(keras.layers.Dense(d, use_bias=False)(inp)))

def run(name, ft, fv, h, readout, bias=True, epochs=20, lr=0.02, act="tanh"):
    keras.utils.set_random_seed(0)
    m = means_model(ft.shape[1], h) if readout == "means" else model(ft.shape[1], h, readout,
                                                                       bias, act)
    learned = sum(int(np.prod(w.shape)) for w in m.trainable_weights)
    steps = epochs * int(np.ceil(len(yt) / 128))
    m.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(lr, steps)),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t = time.time()
    m.fit(ft, yt, batch_size=128, epochs=epochs, verbose=0)
    acc = m.evaluate(fv, yv, verbose=0, batch_size=1024)[1]
    row = {"name": name, "h": h, "readout": readout, "bias": bias, "act": act,
           "learned_params": learned, "val_accuracy": round(float(acc), 4),
           "seconds": round(time.time() - t, 1)}
    print(json.dumps(row), flush=True)
    return row

feats = {}
for g in (4, 5):
    feats[f"pool{g}"] = (pool(crop(xt), g), pool(crop(xv), g))
for k in (9, 12, 16, 20):
    feats[f"dct{k}"] = (dct(xt, k), dct(xv, k))

def params(F, h, readout, bias):
    if h == 0:
        return 10 * F + (10 if bias else 0)
    return F * h + (h if bias else 0) + (10 * h + 10 if readout == "learned" else 0)

rows = []
for fname, (ft, fv) in feats.items():
    F = ft.shape[1]
    for h in range(0, 13):
        for readout in (("learned",) if h == 0 else ("learned", "binary", "gauss")):
            bias = params(F, h, readout, True) <= 100
            if params(F, h, readout, bias) > 100:
                continue
            if readout != "learned" and params(F, h + 1, readout, False) <= 100:
                continue  # a wider fixed-readout model fits: only the widest is tried
            rows.append(run(fname, ft, fv, h, readout, bias, epochs=15))
def gradients(x):
    return keras.ops.convert_to_numpy(OrientedGradients(2)(x[..., None]))

grads = (gradients(xt), gradients(xv))
front = {"grad": grads, "dct15": (dct(xt, 15), dct(xv, 15))}
for k in (6, 7, 8):
    front[f"dct{k}+grad"] = tuple(np.concatenate([d, g], axis=1) for d, g in
                                  zip((dct(xt, k), dct(xv, k)), grads))
for fname, (ft, fv) in front.items():
    F = ft.shape[1]
    for d in (2, 3, 4):
        if F * d + 10 * d <= 100:
            rows.append(run(fname, ft, fv, d, "means", False, epochs=15))
print(json.dumps(rows))
