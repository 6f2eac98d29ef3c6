"""Does a C6 net trained as one channel of a depthwise-conv stack end where the plain Conv2D net ends?
Same image, same initial kernels, Adam 1e-2 with cosine decay, 16,000 steps, float64."""
import sys
import numpy as np
from memorization import runtime
runtime.configure("tensorflow", threads=1, deterministic=True)
import keras
from memorization.models.conv import build_linear_conv
from memorization.training import fit_full_batch
from memorization.analysis.operator import model_function

side, depth, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
quiet = lambda message: None
rng = np.random.default_rng(1)
image = rng.uniform(size=(1, side, side, 1))
def optimizer():
    return keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-2, decay_steps=steps, alpha=1e-3))
for seed in range(3):
    plain = build_linear_conv(side, depth, seed=seed, dtype="float64")
    inputs = keras.Input(shape=(side, side, 1), dtype="float64")
    hidden = inputs
    for _ in range(depth):
        hidden = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False, dtype="float64")(hidden)
    stacked = keras.Model(inputs, hidden)
    for source, target in zip(plain.layers[1:], stacked.layers[1:]):
        target.set_weights([source.get_weights()[0].reshape(3, 3, 1, 1)])
    results = [fit_full_batch(m, image, image, optimizer=optimizer(), max_steps=steps, loss_threshold=1e-14, log=quiet) for m in (plain, stacked)]
    kernels = [np.concatenate([layer.get_weights()[0].ravel() for layer in m.layers[1:]]) for m in (plain, stacked)]
    out = [np.asarray(m.predict(image, verbose=0)).ravel() for m in (plain, stacked)]
    print(f"seed {seed}: steps {results[0].steps} vs {results[1].steps}, loss {results[0].final_loss:.3e} vs {results[1].final_loss:.3e}, "
          f"max relative kernel difference {np.max(np.abs(kernels[0] - kernels[1])) / np.max(np.abs(kernels[0])):.1e}, "
          f"output difference {np.max(np.abs(out[0] - out[1])):.1e}")
