"""Where one training step of the MLP 784-1024x4-784 (cos(x) - x, no bias) at n = 100 goes, TensorFlow,
one enforced thread: the 14 matrix products alone, a plain gradient step, and the Adam step."""
import time
import numpy as np
from memorization import runtime
runtime.configure("tensorflow", threads=1)
import tensorflow as tf

n, sizes, steps = 100, [784, 1024, 1024, 1024, 1024, 784], 20
rng = np.random.default_rng(0)
x = tf.constant(rng.uniform(size=(n, 784)).astype(np.float32))
weights = [tf.Variable((rng.uniform(-1, 1, size=(a, b)) / np.sqrt(a)).astype(np.float32)) for a, b in zip(sizes, sizes[1:])]
flops = 2 * n * sum(a * b for a, b in zip(sizes, sizes[1:])) * 3 - 2 * n * 784 * 1024  # no input gradient of layer 1
optimizer = tf.keras.optimizers.Adam(1e-4)
optimizer.build(weights)

def forward(z):
    for index, w in enumerate(weights):
        z = z @ w
        if index < len(weights) - 1:
            z = tf.cos(z) - z
    return z

@tf.function(jit_compile=False)  # XLA simplifies sum(A^T G) away
def products_only():
    def body(i, total):
        z, saved = x, []
        for w in weights:
            saved.append(z); z = z @ w
        g = z
        for index in reversed(range(len(weights))):
            total += tf.reduce_sum(tf.matmul(saved[index], g, transpose_a=True))
            if index > 0:
                g = tf.matmul(g, weights[index], transpose_b=True)
        return i + 1, total
    return tf.while_loop(lambda i, t: i < steps, body, (0, 0.0))

@tf.function(jit_compile=True)
def gradient_steps():
    def body(i):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((forward(x) - x) ** 2)
        for w, g in zip(weights, tape.gradient(loss, weights)):
            w.assign_sub(1e-4 * g)
        return (i + 1,)
    return tf.while_loop(lambda i: i < steps, body, (0,))

@tf.function(jit_compile=True)
def adam_steps():
    def body(i):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((forward(x) - x) ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return (i + 1,)
    return tf.while_loop(lambda i: i < steps, body, (0,))

for name, function in [("14 matrix products", products_only), ("gradient step (SGD)", gradient_steps), ("Adam step", adam_steps)]:
    function()
    best = min((lambda s: (function(), time.perf_counter() - s)[1])(time.perf_counter()) for _ in range(5)) / steps
    print(f"{name:22s} {best * 1e3:6.1f} ms per step, {flops / best / 1e9:6.1f} GFLOP/s (step's model FLOPs)")
