# Training speed, side by side on this machine (not part of `all`):
#   snakemake --cores 2 bench
# Our engine on every installed Keras backend, plain Keras fit, a plain PyTorch loop, and the
# single-precision matmul rate as the ceiling; see src/memorization/bench.py.


localrules:
    bench,


rule run_bench:
    output:
        csv="results/bench/bench.csv",
        png="results/bench/bench.png",
        pdf="results/bench/bench.pdf",
    log:
        "results/bench/bench.log",
    benchmark:
        "results/bench/benchmark.tsv"
    threads: THREADS_PER_JOB
    params:
        default_backend=config["backend"],
    script:
        "../scripts/bench.py"


rule bench:
    input:
        rules.run_bench.output,
