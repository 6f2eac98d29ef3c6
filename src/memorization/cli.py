"""The ``memorization`` console command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from memorization.archive import MAX_MEMBER_BYTES
from memorization.errors import MemorizationError

DEFAULT_SCHEMA = Path("config/schema/config.schema.yaml")


def check_config(arguments) -> int:
    from memorization.config import check_config_file

    for path in arguments.configs:
        check_config_file(path, arguments.schema)
        print(f"{path}: valid")
    return 0


def verify_archive(arguments) -> int:
    from memorization.archive import verify_archive as verify

    result = verify(arguments.archive, max_member_bytes=arguments.max_file_bytes)
    for problem in result.problems:
        print(problem, file=sys.stderr)
    if not result.ok:
        print(f"{arguments.archive}: FAILED, {len(result.problems)} problem(s) in {result.files} file(s)", file=sys.stderr)
        return 1
    print(f"{arguments.archive}: OK, {result.files} files match SHA256SUMS and the RO-Crate metadata")
    return 0


def compare(arguments) -> int:
    from memorization.compare import CompareError, run

    try:
        report, status = run(arguments.a, arguments.b, markdown=arguments.markdown)
    except CompareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(report)
    return status


def status(arguments) -> int:
    from memorization.status import StatusError, render, scan

    try:
        jobs = scan(arguments.results)
    except StatusError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(render(jobs, arguments.results))
    return 0


def plan(arguments) -> int:
    from memorization import plan as planning
    from memorization.config import load_workflow_config

    if arguments.calibrate:
        calibration = planning.calibrate(arguments.calibrate)
        from memorization.files import write_json

        target = arguments.calibration or planning.CALIBRATION
        write_json(target, calibration)
        print(f"wrote {target} from {arguments.calibrate}")
        return 0
    config = load_workflow_config(arguments.configfile or [], arguments.schema)
    print("\n".join(planning.plan_lines(config, cores=arguments.cores, calibration_path=arguments.calibration)))
    return 0


def efficiency(arguments) -> int:
    from memorization.efficiency import account, render

    sys.stdout.write(render(account(arguments.results), arguments.results))
    return 0


def bench(arguments) -> int:
    import os

    from memorization import bench as bench_module
    from memorization.errors import ConfigError

    default_backend = arguments.default_backend or os.environ.get("KERAS_BACKEND") or "tensorflow"
    backends = arguments.backends.split(",") if arguments.backends else bench_module.installed_backends()
    cores = len(os.sched_getaffinity(0))
    try:
        thread_counts = [int(count) for count in arguments.threads.split(",")] if arguments.threads else [1, cores]
        table = bench_module.run_benches(
            thread_counts=thread_counts,
            shapes=arguments.shapes.split(",") if arguments.shapes else list(bench_module.DEFAULT_SHAPES),
            backends=backends,
            default_backend=default_backend,
            rounds=arguments.rounds,
            seconds=arguments.seconds,
            steps=arguments.steps,
            with_fit=not arguments.no_fit,
        )
    except (ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    bench_module.write_table(table, arguments.output)
    if arguments.figure:
        bench_module.draw(table, arguments.figure, arguments.figure.with_suffix(".pdf"))
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {cores} core(s) at the end\n")
    print("\n".join(bench_module.summary_lines(table)))
    print(f"wrote {arguments.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memorization", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check-config", help="validate config files against the workflow schema")
    check.add_argument("configs", nargs="+", type=Path)
    check.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    check.set_defaults(handler=check_config)
    timing = commands.add_parser(
        "bench",
        help="training steps/s side by side: our engine per Keras backend, plain Keras fit, a plain PyTorch loop, "
        "and the matmul ceiling",
    )
    timing.add_argument("--output", type=Path, default=Path("results/bench/bench.csv"), help="CSV to write")
    timing.add_argument("--figure", type=Path, default=None, help="PNG to draw (a PDF is written beside it)")
    timing.add_argument("--shapes", default=None, help="comma-separated shape names (default: all)")
    timing.add_argument("--backends", default=None, help="comma-separated Keras backends (default: all installed)")
    timing.add_argument(
        "--default-backend", default=None, help="backend whose engine rows are marked default (default: $KERAS_BACKEND "
        "or tensorflow)"
    )
    timing.add_argument(
        "--threads", default=None,
        help="comma-separated thread counts; each gets its own table (default: 1 and all cores)",
    )
    timing.add_argument("--rounds", type=int, default=3, help="round-robin repetitions; the table has the median")
    timing.add_argument("--seconds", type=float, default=2.0, help="timed seconds per measurement")
    timing.add_argument("--steps", type=int, default=None, help="timed steps per measurement (overrides --seconds)")
    timing.add_argument("--no-fit", action="store_true", help="leave out the plain Keras fit() rows")
    timing.set_defaults(handler=bench)
    verify = commands.add_parser(
        "verify-archive",
        help="check every file of a results archive against its SHA256SUMS and RO-Crate metadata (extracts nothing)",
    )
    verify.add_argument("archive", type=Path)
    verify.add_argument(
        "--max-file-bytes", type=int, default=MAX_MEMBER_BYTES,
        help=f"refuse an archive holding a file that would expand to more than this (default {MAX_MEMBER_BYTES})",
    )
    verify.set_defaults(handler=verify_archive)
    comparison = commands.add_parser(
        "compare",
        help="compare two results (archives or results/<scale>/ folders): claims, config and package versions",
        description="Compare two results, each an archive (archive.tar.gz, read without extracting) or a "
        "results/<scale>/ folder: each claim's value, interval (ci_low, ci_high, where claims.csv has them) and "
        "verdict side by side with the difference B - A, then the config keys (dotted paths) and package versions "
        "that differ. Exit status: 0 when no verdict flipped, 3 when at least one verdict flipped, 2 when an input "
        "is missing or unreadable.",
    )
    comparison.add_argument("a", type=Path, help="first archive or results folder (A)")
    comparison.add_argument("b", type=Path, help="second archive or results folder (B)")
    comparison.add_argument("--markdown", action="store_true", help="print Markdown tables instead of plain text")
    comparison.set_defaults(handler=compare)
    progress = commands.add_parser(
        "status",
        help="running, finished and failed training jobs of a results folder, from their logs",
        description="Summarise the training jobs of results/<scale>/ from their logs (logs/**/train*/*.log): "
        "state (running, done, failed), last step / total, loss and ETA of each, then totals.",
    )
    progress.add_argument("results", type=Path, nargs="?", default=Path("results/quick"),
                          help="results folder (default: results/quick)")
    progress.set_defaults(handler=status)
    planning = commands.add_parser(
        "plan",
        help="what a config will run: runs, jobs, work and estimated wall time per claim, before the run",
        description="Per claim: runs, models, train and measure jobs, estimated floating-point work and job time; "
        "then the estimated wall time on this machine (README, 'Plan before the run'). The same lines are printed "
        "when the workflow starts.",
    )
    planning.add_argument("--configfile", type=Path, action="append",
                          help="config file(s) merged into config/config.yaml, as for snakemake (repeatable)")
    planning.add_argument("--cores", type=int, default=None, help="cores the run will use (default: this machine's)")
    planning.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    planning.add_argument("--calibration", type=Path, default=None,
                          help="calibration file to read (or, with --calibrate, to write); default: the packaged one")
    planning.add_argument("--calibrate", type=Path, default=None, metavar="RESULTS",
                          help="write a calibration from a finished results/<scale>/ folder instead of planning")
    planning.set_defaults(handler=plan)
    share = commands.add_parser(
        "efficiency",
        help="share of a finished scale's job time spent inside training loops and measure steps",
        description="From a finished results/<scale>/ folder: per step (train, measure, other) the jobs, their "
        "summed wall time (benchmarks/), the seconds of work inside them (training loops from training.json, measure "
        "steps from their provenance records) and the median start-up left per job.",
    )
    share.add_argument("results", type=Path, help="results folder, e.g. results/quick")
    share.set_defaults(handler=efficiency)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        return arguments.handler(arguments)
    except MemorizationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
