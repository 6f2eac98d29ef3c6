"""Probe: K same-shape C6 nets (1-channel 3x3 linear convs, float64) trained one at a time vs stacked
as K channels of one depthwise-conv net (each channel is one independent net). Throughput only."""
import sys, time
import numpy as np
from memorization import runtime
runtime.configure("tensorflow", threads=1, deterministic=True)
import keras
from memorization.models.conv import build_linear_conv
from memorization.training import fit_full_batch

side, depth, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
counts = [int(k) for k in sys.argv[4].split(",")]
rng = np.random.default_rng(0)
quiet = lambda message: None

def stacked_model(k):
    inputs = keras.Input(shape=(side, side, k), dtype="float64")
    hidden = inputs
    for layer in range(depth):
        hidden = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False, dtype="float64",
                                              depthwise_initializer=keras.initializers.RandomUniform(-1/3, 1/3, seed=layer))(hidden)
    return keras.Model(inputs, hidden)

image = rng.uniform(size=(1, side, side, 1))
model = build_linear_conv(side, depth, seed=0, dtype="float64")
fit_full_batch(model, image, image, optimizer=keras.optimizers.Adam(1e-2), max_steps=200, log=quiet)  # warm-up
start = time.perf_counter()
fit_full_batch(model, image, image, optimizer=keras.optimizers.Adam(1e-2), max_steps=steps, log=quiet)
single = steps / (time.perf_counter() - start)
print(f"s={side} L={depth}: one net {single:.0f} steps/s")
for k in counts:
    images = rng.uniform(size=(1, side, side, k))
    model = stacked_model(k)
    fit_full_batch(model, images, images, optimizer=keras.optimizers.Adam(1e-2), max_steps=200, log=quiet)
    start = time.perf_counter()
    fit_full_batch(model, images, images, optimizer=keras.optimizers.Adam(1e-2), max_steps=steps, log=quiet)
    rate = steps / (time.perf_counter() - start)
    print(f"  {k} nets stacked: {rate:.0f} steps/s = {k * rate:.0f} net-steps/s, {k * rate / single:.1f}x one at a time")
