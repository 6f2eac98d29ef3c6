"""Shared pieces of the convolutional claims C6, C7 (linear nets) and C8 (nonlinear nets).

Linear claims: one or a few grey images of side s, made from MNIST or CIFAR-10 by an exact
area (box-filter) resize of the whole 28 x 28 or 32 x 32 image to s x s (CIFAR-10 is first made
grey with the ITU-R 601 luma weights). A run trains one linear conv autoencoder on them; its
measurement builds the end-to-end operator A (s^2 x s^2), checks that the net is linear, and
records the eigen statistics of A against the training images. Whether a run *memorizes* is
decided in the claim's summary, from a threshold fixed in the config.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from memorization import claims, data, files
from memorization.training import training_record
from memorization.errors import ConfigError

LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])
ARCHITECTURES = ("stride1", "downsampling")
SHORT_INITS = {"fan_in_uniform": "fanin", "glorot_uniform": "glorot", "he_normal": "he"}
EIGENVECTORS_SAVED = 4


def area_resize_matrix(size: int, side: int) -> np.ndarray:
    """(side x size) matrix averaging the input pixels that overlap each output pixel, by overlap."""
    if side < 1 or side > size:
        raise ConfigError(f"image side must lie in 1..{size}, got {side}")
    edges = np.linspace(0.0, size, side + 1)
    pixels = np.arange(size)
    overlap = np.clip(np.minimum(edges[1:, None], pixels + 1) - np.maximum(edges[:-1, None], pixels), 0.0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def grey_images(images: np.ndarray, side: int) -> np.ndarray:
    """uint8 images (n, h, w) or (n, h, w, 3) -> float64 grey images (n, side, side, 1) in [0, 1]."""
    images = np.asarray(images, dtype=np.float64) / 255.0
    if images.ndim == 4:
        images = images @ LUMA_WEIGHTS
    resize = area_resize_matrix(images.shape[1], side)
    return np.einsum("ip,npq,jq->nij", resize, images, resize)[..., None]


def linear_training_images(arrays: dict, settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """Positions and grey s x s versions of the run's training images (drawn from ``image_seed``)."""
    positions = data.select_indices(arrays, settings["n"], settings["image_seed"])
    return positions, grey_images(arrays["x"][positions], settings["side"])


def conv_depth(settings: dict) -> int:
    """Number of convolutions: the depth on the common axis of the L*(s) figure."""
    if settings["architecture"] == "stride1":
        return settings["depth"]
    return 2 * settings["stages"] + 1


def build_linear_model(settings: dict, initializer: str | None = None):
    from memorization.models.conv import build_downsampling_conv, build_linear_conv

    initializer = initializer or settings["initializer"]
    if settings["architecture"] == "stride1":
        return build_linear_conv(
            settings["side"], settings["depth"], initializer=initializer, seed=settings["seed"], dtype=settings["float_dtype"]
        )
    if settings["architecture"] == "downsampling":
        return build_downsampling_conv(
            settings["side"],
            settings["stages"],
            settings["channels"],
            upsampling=settings["upsampling"],
            initializer=initializer,
            seed=settings["seed"],
            dtype=settings["float_dtype"],
        )
    raise ConfigError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {settings['architecture']!r}")


def linear_run_settings(claim: str, section: dict, seed: int, **architecture) -> dict:
    return {
        "claim": claim,
        "dataset": section["dataset"],
        # null: the run's own seed draws its images too (one draw of images is not evidence).
        "image_seed": seed if section["image_seed"] is None else section["image_seed"],
        "seed": seed,
        "float_dtype": section["float_dtype"],
        "initializer": section["initializer"],
        "optimizer": dict(section["optimizer"]),
        "noise_samples": section["noise_samples"],
        **architecture,
    }


def make_optimizer(spec: dict):
    """Adam with a constant rate, or a cosine decay to ``final_fraction`` of it over the step cap."""
    import keras

    schedule = spec["schedule"]
    rate = spec["learning_rate"]
    if schedule == "cosine_decay":
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=spec["max_steps"], alpha=spec["final_fraction"])
    elif schedule != "constant":
        raise ConfigError(f"optimizer.schedule must be constant or cosine_decay, got {schedule!r}")
    return keras.optimizers.Adam(learning_rate=rate)


def fit_and_save(
    model, images: np.ndarray, settings: dict, run_name: str, outputs: dict, log, extra: dict, options=None
) -> dict:
    """Train through the one engine, then write model, history and training.json."""
    from memorization.training import fit_full_batch, save_training_run

    spec = settings["optimizer"]
    result = fit_full_batch(
        model,
        images,
        images,
        optimizer=make_optimizer(spec),
        max_steps=spec["max_steps"],
        loss_threshold=spec["loss_threshold"],
        run_name=run_name,
        log=log,
        options=options,
    )
    if result.stopped_at_cap:
        log(f"stopped at the step cap {spec['max_steps']} with loss {result.final_loss:.3e}")
    summary = save_training_run(model, result, outputs, **extra)
    return {"training": summary["result"], **{key: value for key, value in extra.items() if key == "official_indices"}}


def train_linear(settings: dict, inputs: dict, outputs: dict, log, run_name: str, options=None) -> dict:
    arrays = data.load_prepared(inputs["data"], settings["dataset"])
    positions, images = linear_training_images(arrays, settings)
    model = build_linear_model(settings)
    log(f"{model.name}: {model.count_params()} parameters, {conv_depth(settings)} convolutions")
    extra = {"positions": positions.tolist(), "official_indices": arrays["index"][positions].tolist()}
    return fit_and_save(model, images.astype(settings["float_dtype"]), settings, run_name, outputs, log, extra,
                        options=options)


def measure_linear(settings: dict, inputs: dict, outputs: dict, log, claim: str) -> dict:
    """Operator, linearity check and eigen statistics of one trained linear conv autoencoder."""

    from memorization.models import load_model

    from memorization.analysis import operator as op

    arrays = data.load_prepared(inputs["data"], settings["dataset"])
    with open(inputs["training"]) as stream:
        training = json.load(stream)
    images = grey_images(arrays["x"][np.asarray(training["positions"])], settings["side"])
    model = load_model(inputs["model"])
    apply = op.model_function(model)
    shape = images.shape[1:]
    linearity = op.check_linearity(apply, shape, dtype=settings["float_dtype"], seed=settings["seed"])
    matrix = op.extract_operator(apply, shape)
    summary = op.summarize_operator(matrix, images)
    eigen = op.eigen_decomposition(matrix)
    noise = op.noise_alignment(matrix, images, samples=settings["noise_samples"], seed=settings["seed"])
    identity = op.noise_alignment(np.eye(len(matrix)), images, samples=settings["noise_samples"], seed=settings["seed"])
    support = op.extract_operator(op.model_function(build_linear_model(settings, initializer="ones")), shape)
    n = len(images)
    top = np.abs(eigen.values[:n])
    metrics = {
        **training_record(training),
        "conv_layers": conv_depth(settings),
        "linearity_error": linearity.max_relative_error,
        "is_linear": linearity.is_linear,
        "receptive_field_covers": op.covers_image(support),
        "alignment": summary.min_alignment,
        "top_eigenvalue_modulus": float(top.max()),
        "top_eigenvalue_max_distance_to_one": float(np.abs(eigen.values[:n] - 1.0).max()),
        "next_eigenvalue_modulus": summary.next_eigenvalue_modulus,
        "next_to_top_ratio": summary.next_eigenvalue_modulus / float(top.min()) if top.min() > 0 else float("nan"),
        "fixed_point_residual": summary.fixed_point_residual,
        "noise_alignment_median": float(np.median(noise)),
        "identity_noise_alignment_median": float(np.median(identity)),
        "operator_frobenius_distance_to_projector": float(
            np.linalg.norm(matrix - _span_projector(images)) / np.sqrt(n)
        ),
    }
    log(f"metrics: {metrics}")
    files.write_json(
        outputs["metrics"],
        {
            "claim": claim,
            "settings": settings,
            "metrics": metrics,
            "alignments": summary.alignments.tolist(),
            "eigenvalues_real": eigen.values.real[:20].tolist(),
            "eigenvalues_imag": np.imag(eigen.values)[:20].tolist(),
        },
    )
    vectors = eigen.vectors[:, :EIGENVECTORS_SAVED]
    # An eigenvector's sign (or complex phase) is arbitrary: show it with the phase that best
    # matches the training images, so a memorized image looks like the image, not its negative.
    columns = images.reshape(n, -1).T
    phase = np.exp(-1j * np.angle(np.sum(columns.T @ vectors.conj(), axis=0) + 1e-300))
    shown = np.real(vectors * phase.conj())
    files.write_npz(
        outputs["examples"],
        train=images.reshape(n, -1),
        eigenvectors=shown.T,
        top_basis=top_eigenspace_basis(eigen.vectors[:, :n], columns).T,
        eigenvalues=eigen.values[:20],
        noise_alignment=noise,
    )
    return {"metrics": metrics}


def top_eigenspace_basis(vectors: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """A real orthonormal basis (d x n) of the span of the top n eigenvectors, for display.

    A complex pair has two real directions (its real and imaginary parts) but looks like one
    image twice when only real parts are drawn. Each basis vector is signed to correlate
    positively with the training images.
    """
    stacked = np.concatenate([np.real(vectors), np.imag(vectors)], axis=1)
    basis = np.linalg.svd(stacked, full_matrices=False)[0][:, : vectors.shape[1]]
    signs = np.sign(basis.T @ columns.sum(axis=1))
    return basis * np.where(signs == 0, 1.0, signs)


def _span_projector(images: np.ndarray) -> np.ndarray:
    from memorization.analysis.linalg import span_projector

    return span_projector(images.reshape(len(images), -1))


RUN_COLUMNS = ("architecture", "side", "depth", "stages", "channels", "n", "seed")


def tidy(records: list[dict], run_key) -> pd.DataFrame:
    """One row per run x statistic, with the run's settings as columns."""
    def run_columns(settings: dict) -> dict:
        return {"run": run_key(settings), **{name: settings.get(name) for name in RUN_COLUMNS}}

    return claims.tidy_metrics(records, run_columns).astype({"value": float})


def memorization_table(table: pd.DataFrame, alignment_threshold: float) -> pd.DataFrame:
    """One row per run: depth, alignment, linearity and whether it memorized (`operator.is_memorized`)."""
    from memorization.analysis.operator import is_memorized

    wide = table.pivot_table(index=["run", *[c for c in RUN_COLUMNS if table[c].notna().any()]], columns="statistic",
                             values="value").reset_index()
    wide["memorized"] = is_memorized(wide["alignment"].to_numpy(), alignment_threshold,
                                     linear=wide["is_linear"].to_numpy() > 0.5)
    return wide
