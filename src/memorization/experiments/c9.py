"""C9 (extension, PNAS follow-up): sequence encoders store sequences as stable limit cycles, and
store more than autoencoders.

For each sequence of real images (T digits drawn from the seed, or a T-frame movie of one digit
moving around a square) and each seed, two nets of the section's ``model`` block (the deep MLP
of the FC claims, same init, optimizer, threshold and step cap) train on the same T frames:

* a *sequence encoder* f(x_t) = x_{t+1 mod T} (trained here, `train`);
* the shared FC *autoencoder* f(x_t) = x_t (trained by `fc`; for the movies its model block
  names the sequence, so it trains on exactly the same frames).

Measured per sequence encoder: the fixed-cycle error max_t ||f(x_t) - x_{t+1}||, rho of each
J_f(x_t) and of the cycle's product J_f(x_T) ... J_f(x_1), and the fraction of noise, test and
noisy-frame starts whose iterates lock onto the cycle (visit every frame in order within eps).
Per autoencoder: C3's attractor fraction and C4's fraction of starts reaching a training image.
The claim's statistic compares the images each stores: all T for a fitted sequence encoder
with an attracting cycle (none otherwise), the attractors for an autoencoder.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from memorization import claims, data, files, sequences
from memorization.training import training_record
from memorization.analysis.intervals import binomial_interval, bootstrap_mean_interval, seed_mean
from memorization.errors import MemorizationError
from memorization.experiments import fc

CLAIM = "c9"
STATEMENT = (
    "Sequence encoders f(x_t) = x_{t+1} store sequences as attracting limit cycles, and store more of their "
    "images than autoencoders of the same size, data and budget"
)
ROLES = ("sequence_encoder", "autoencoder")
START_KINDS = ("noise", "test", "noisy_frames")
MEASUREMENT_KEYS = (
    "n_noise_starts", "n_test_starts", "n_noisy_frame_starts", "noisy_frame_sigma", "max_steps", "tol", "eps",
    "cycle_tol", "radius_margin", "gallery_starts",
)


def sequence_spec(entry: dict) -> dict:
    if entry["kind"] == "movie":
        return {"kind": "movie", "step": entry["step"], "digit_side": entry["digit_side"]}
    return {"kind": entry["kind"]}


def encoder_key(model: dict) -> str:
    """Key of a sequence encoder: `fc.model_key` (which names its sequence) with ``-seq``."""
    return "mlp-seq" + fc.model_key(model)[len("mlp"):]


def run_key(settings: dict) -> str:
    """A run's key from its settings (as stored in its metrics.json): the key of the model it measures."""
    if settings["role"] == "sequence_encoder":
        return encoder_key(settings["model"])
    return fc.model_key(settings["model"])


def expand_runs(section: dict, seed: int) -> dict[str, dict]:
    """Two runs per sequence x length x seed: the sequence encoder and the autoencoder on its frames."""
    measurement = {name: section[name] for name in MEASUREMENT_KEYS}
    runs = {}
    for entry in section["sequences"]:
        spec = sequence_spec(entry)
        if spec["kind"] == "movie":
            for length in entry["lengths"]:
                sequences.square_path(length, spec["step"])  # a ConfigError names a bad length now
        for length, run_seed in itertools.product(entry["lengths"], section["seeds"]):
            case = {"sequence": spec, "length": int(length)}
            encoder = fc.model_settings(section["model"], seed + run_seed, n_train=int(length), sequence=spec)
            encoder["claim"] = CLAIM
            key = encoder_key(encoder)
            runs[key] = {"claim": CLAIM, "role": "sequence_encoder", "dataset": encoder["dataset"],
                         "seed": encoder["seed"], "float_dtype": encoder["float_dtype"], "model_key": key,
                         "model": encoder, **case, **measurement}
            # The digits are the autoencoder's default draw (n_train images from the seed), so it
            # is the very model C3-C10 would train; movie frames must be named in its block.
            autoencoder = fc.model_settings(section["model"], seed + run_seed, n_train=int(length),
                                            sequence=spec if spec["kind"] != "digits" else None)
            key, settings = fc.claim_run(CLAIM, autoencoder, role="autoencoder", **case, **measurement)
            runs[key] = settings
    return runs


def train(settings: dict, inputs: dict, outputs: dict, log, options=None) -> dict:
    """Fit a sequence encoder: each frame x_t to the next, the last to the first."""
    from memorization.analysis.cycles import successors

    return fc.fit_model(settings, inputs, outputs, log, options, targets=successors, run_name=encoder_key(settings))


def starting_points(settings: dict, arrays: dict, frames: np.ndarray) -> dict[str, np.ndarray]:
    """The same starts for both nets of a case (they depend on the seed and the frames only)."""
    rng = np.random.default_rng([settings["seed"], 9])
    test_positions = data.select_indices(arrays, settings["n_test_starts"], settings["seed"], split=data.TEST)
    owners = np.arange(settings["n_noisy_frame_starts"]) % len(frames)
    return {
        "noise": rng.uniform(0.0, 1.0, size=(settings["n_noise_starts"], frames.shape[1])),
        "test": data.to_unit_interval_rows(arrays["x"][test_positions], "float64"),
        "noisy_frames": frames[owners]
        + settings["noisy_frame_sigma"] * rng.standard_normal((len(owners), frames.shape[1])),
    }


def gallery_steps(max_steps: int) -> list[int]:
    steps, step = [0], 1
    while step < max_steps:
        steps.append(step)
        step *= 2
    return steps


def frames_recalled(tail: np.ndarray, frames: np.ndarray, eps: float, diverged: np.ndarray) -> int:
    """How many frames some start's final iterates come within eps of."""
    from memorization.analysis.iteration import rms_distance

    recalled = np.zeros(len(frames), dtype=bool)
    for iterate in tail[:, ~diverged]:
        for index, frame in enumerate(frames):
            recalled[index] |= bool(np.any(rms_distance(iterate, frame[None]) < eps))
    return int(recalled.sum())


def measure_encoder(settings, model, frames, starts, log) -> tuple[dict, dict]:
    from memorization.analysis.cycles import cycle_errors, cycle_spectral_radius, iterate_orbit, lock_onto_cycle
    from memorization.analysis.iteration import as_numpy_map
    from memorization.analysis.jacobian import input_jacobians, spectral_radius

    apply = as_numpy_map(model)
    period = len(frames)
    errors = cycle_errors(apply, frames)
    jacobians = input_jacobians(model, frames)
    single = np.atleast_1d(spectral_radius(jacobians))
    cycle_radius = cycle_spectral_radius(jacobians)
    margin = settings["radius_margin"]
    is_cycle = bool(np.max(errors) < settings["cycle_tol"])
    attracting = bool(is_cycle and cycle_radius < 1.0 - margin)
    metrics = {
        "max_cycle_error": float(np.max(errors)),
        "is_cycle": is_cycle,
        "cycle_spectral_radius": cycle_radius,
        "cycle_radius_per_step": float(cycle_radius ** (1.0 / period)),
        "min_single_spectral_radius": float(np.min(single)),
        "median_single_spectral_radius": float(np.median(single)),
        "max_single_spectral_radius": float(np.max(single)),
        "frames_not_contractive_alone": int(np.sum(single >= 1.0 - margin)),
        "attracting_cycle": attracting,
    }
    arrays = {"frames": frames, "cycle_error": errors, "single_spectral_radius": single}
    steps = gallery_steps(settings["max_steps"])
    for kind, points in starts.items():
        orbit = iterate_orbit(apply, points, settings["max_steps"], period, settings["tol"], snapshot_steps=steps)
        lock = lock_onto_cycle(orbit.tail, frames, settings["eps"], orbit.diverged, orbit.steps - period + 1)
        metrics.update({
            f"{kind}_fraction_locked": lock["fraction_locked"],
            f"{kind}_locked": int(lock["locked"].sum()),
            f"{kind}_starts": len(points),
            f"{kind}_phases_used": int(np.sum(lock["phase_counts"] > 0)),
            f"{kind}_fraction_diverged": lock["fraction_diverged"],
            f"{kind}_fraction_settled": float(orbit.settled.mean()),
            f"{kind}_frames_recalled": frames_recalled(orbit.tail, frames, settings["eps"], orbit.diverged),
        })
        log(f"{kind}: {lock['fraction_locked']:.2f} lock onto the cycle, phases {lock['phase_counts'].tolist()}, "
            f"{lock['fraction_diverged']:.2f} diverged")
        if kind == "noise":
            shown = slice(0, settings["gallery_starts"])
            arrays.update({
                "gallery_steps": np.asarray(steps),
                "noise_snapshots": orbit.snapshots[:, shown],
                "noise_locked": lock["locked"][shown],
                "noise_phase": lock["phase"][shown],
                # The final T iterates rolled so that entry t sits under frame t.
                "noise_tail_aligned": np.stack([
                    np.roll(orbit.tail[:, b], lock["nearest"][b], axis=0) for b in range(*shown.indices(len(points)))
                ], axis=1),
            })
    return metrics, arrays


def measure_autoencoder(settings, model, frames, starts, log) -> tuple[dict, dict]:
    from memorization.analysis.iteration import as_numpy_map, iterate_to_fixed_point, match_to_examples

    apply = as_numpy_map(model)
    local = fc.local_contraction(model, frames, settings["cycle_tol"], settings["radius_margin"])
    metrics = dict(local["summary"])
    for kind, points in starts.items():
        result = iterate_to_fixed_point(apply, points, settings["max_steps"], settings["tol"])
        summary = match_to_examples(result, frames, settings["eps"])
        metrics.update({
            f"{kind}_fraction_reaching": summary["fraction_reaching"],
            f"{kind}_reaching": int(summary["reached"].sum()),
            f"{kind}_starts": len(points),
            f"{kind}_frames_recalled": summary["distinct_reached"],
            f"{kind}_fraction_diverged": summary["fraction_diverged"],
        })
        log(f"{kind}: {summary['fraction_reaching']:.2f} reach a frame ({summary['distinct_reached']} distinct)")
    arrays = {name: local[name] for name in ("fixed_point_error", "spectral_radius", "attractor")}
    return metrics, arrays


def measure(settings: dict, inputs: dict, outputs: dict, log) -> dict:
    import json

    from memorization.models.mlp import load_model

    arrays = data.load_prepared(inputs["data"], settings["dataset"])
    with open(inputs["training"]) as stream:
        training = json.load(stream)
    positions, frames = fc.training_set(arrays, {**settings["model"], "sequence": settings["sequence"]}, "float64")
    if list(positions) != list(training["positions"]):
        # Both nets of a case must have trained on exactly these frames.
        raise MemorizationError(f"run {settings['model_key']}: the model trained on images {training['positions']}, "
                                f"but the sequence is built from {positions.tolist()}")
    model = load_model(inputs["model"])
    starts = starting_points(settings, arrays, frames)
    if settings["role"] == "sequence_encoder":
        metrics, examples = measure_encoder(settings, model, frames, starts, log)
        stored = metrics["attracting_cycle"]
        metrics["stored_fraction"] = 1.0 if stored else 0.0
    else:
        metrics, examples = measure_autoencoder(settings, model, frames, starts, log)
        metrics["stored_fraction"] = metrics["attractor_fraction"]
    metrics.update(training_record(training))
    log(f"metrics: {metrics}")
    files.write_json(outputs["metrics"], {"claim": CLAIM, "settings": settings, "metrics": metrics})
    files.write_npz(outputs["examples"], **examples)
    return {"metrics": metrics}


def run_columns(settings: dict) -> dict:
    return {
        **fc.model_columns(settings),
        "role": settings["role"],
        "sequence": sequences.tag(settings["sequence"]),
        "T": settings["length"],
    }


def cases(table: pd.DataFrame) -> pd.DataFrame:
    """One row per sequence x T x seed: what each net stored and whether both fitted.

    A case in which either net missed its loss threshold counts against the claim: the sequence
    encoder stores nothing there and the autoencoder is credited with all its images.
    """
    runs = table.pivot_table(index=["sequence", "T", "seed", "role"], columns="statistic", values="value",
                             aggfunc="first").reset_index()
    rows = []
    for (sequence, length, seed), group in runs.groupby(["sequence", "T", "seed"]):
        by_role = {row["role"]: row for _, row in group.iterrows()}
        encoder, autoencoder = by_role.get("sequence_encoder"), by_role.get("autoencoder")
        if encoder is None or autoencoder is None:
            continue
        fitted = bool(encoder["train_reached_threshold"]) and bool(autoencoder["train_reached_threshold"])
        encoder_stored = float(encoder["stored_fraction"]) if fitted else 0.0
        autoencoder_stored = float(autoencoder["stored_fraction"]) if fitted else 1.0
        rows.append({
            "sequence": sequence, "T": int(length), "seed": int(seed), "both_fitted": fitted,
            "attracting_cycle": bool(encoder["attracting_cycle"]) and fitted,
            "encoder_stored": encoder_stored * length, "autoencoder_stored": autoencoder_stored * length,
            "noise_locked": int(encoder["noise_locked"]), "noise_starts": int(encoder["noise_starts"]),
            "autoencoder_noise_reaching": int(autoencoder["noise_reaching"]),
            "encoder_noise_recalled": int(encoder["noise_frames_recalled"]),
            "autoencoder_noise_recalled": int(autoencoder["noise_frames_recalled"]),
            "autoencoder_attractors": float(autoencoder["attractor_fraction"]) * length,
        })
    return pd.DataFrame(rows)


def advantage_by_seed(case_table: pd.DataFrame) -> pd.Series:
    """Per seed: (images stored by the sequence encoders - by the autoencoders) / images."""
    grouped = case_table.groupby("seed")
    return (grouped["encoder_stored"].sum() - grouped["autoencoder_stored"].sum()) / grouped["T"].sum()


def summary_rows(case_table: pd.DataFrame, advantage: pd.Series) -> list[dict]:
    """Tidy rows of the comparison: per-seed advantage, its bootstrap interval, and pooled
    fractions per sequence x T with exact binomial intervals."""
    rows = [{"role": "comparison", "run": f"seed-{seed}", "seed": seed, "statistic": "stored_advantage", "value": value}
            for seed, value in advantage.items()]
    low, high = bootstrap_mean_interval(advantage.to_numpy())
    mean = float(advantage.mean()) if len(advantage) else float("nan")
    for name, value in (("stored_advantage_mean", mean), ("stored_advantage_ci_low", low),
                        ("stored_advantage_ci_high", high)):
        rows.append({"role": "comparison", "run": "all", "statistic": name, "value": value})
    attracting = int(case_table["attracting_cycle"].sum())
    low, high = binomial_interval(attracting, len(case_table))
    for name, value in (("attracting_cycle_fraction", attracting / max(len(case_table), 1)),
                        ("attracting_cycle_ci_low", low), ("attracting_cycle_ci_high", high)):
        rows.append({"role": "comparison", "run": "all", "statistic": name, "value": value})
    for (sequence, length), group in case_table.groupby(["sequence", "T"]):
        pooled = {
            "encoder_noise_locked": (group["noise_locked"].sum(), group["noise_starts"].sum()),
            "autoencoder_noise_reaching": (group["autoencoder_noise_reaching"].sum(), group["noise_starts"].sum()),
            # Frames that some noise start ends on (a locked start visits all T):
            "encoder_noise_recalled": (group["encoder_noise_recalled"].sum(), group["T"].sum()),
            "autoencoder_noise_recalled": (group["autoencoder_noise_recalled"].sum(), group["T"].sum()),
            # As measured, whether or not the nets fitted:
            "autoencoder_attractors": (group["autoencoder_attractors"].sum(), group["T"].sum()),
            # As counted by the claim's statistic (a case where a net did not fit counts against it):
            "autoencoder_stored": (group["autoencoder_stored"].sum(), group["T"].sum()),
            "encoder_stored": (group["encoder_stored"].sum(), group["T"].sum()),
        }
        for name, (successes, trials) in pooled.items():
            low, high = binomial_interval(int(round(successes)), int(trials))
            for suffix, value in (("fraction", successes / trials), ("ci_low", low), ("ci_high", high)):
                rows.append({"role": "comparison", "run": f"{sequence}-T{length}", "sequence": sequence, "T": length,
                             "statistic": f"{name}_{suffix}", "value": float(value)})
    return rows


def summarize(settings: dict, inputs: dict, outputs: dict, log) -> None:
    records = claims.read_records(inputs["metrics"])
    table = claims.tidy_metrics(records, run_columns)
    case_table = cases(table)
    advantage = advantage_by_seed(case_table) if len(case_table) else pd.Series(dtype=float)
    table = pd.concat([table, pd.DataFrame(summary_rows(case_table, advantage))], ignore_index=True)
    files.write_csv(outputs["table"], table)
    value, low, high = seed_mean(advantage.to_numpy())
    unfitted = int((~case_table["both_fitted"]).sum()) if len(case_table) else 0
    attracting = int(case_table["attracting_cycle"].sum()) if len(case_table) else 0
    per_seed = ", ".join(f"{value:.3f}" for value in advantage.to_numpy())
    claims.record_claim(
        outputs["row"], log, settings, CLAIM, STATEMENT, comparison=">",
        statistic=(
            "mean over seeds of (images stored in attracting cycles of sequence encoders - images that are "
            "attractors of autoencoders) / images, same MLP, frames and budget; a case where either net missed "
            f"its loss threshold counts against (unfitted cases: {unfitted} of {len(case_table)}; attracting "
            f"cycles: {attracting} of {len(case_table)}); per seed [{per_seed}], 95% bootstrap interval over "
            f"seeds [{low:.3f}, {high:.3f}]"
        ),
        value=value, interval=(low, high), n_seeds=len(advantage), fitted=unfitted == 0 and len(case_table) > 0,
    )
