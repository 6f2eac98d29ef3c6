"""Workflow entry point: the side-by-side training benchmark (memorization.bench)."""

from memorization import bench
from memorization.scripting import StepLog

log = StepLog(snakemake.log[0])
table = bench.run_bench(
    shapes=list(bench.SHAPES),
    backends=bench.installed_backends(),
    default_backend=snakemake.params.default_backend,
    threads=snakemake.threads,
    log=log,
)
bench.write_table(table, snakemake.output.csv)
bench.draw(table, snakemake.output.png, snakemake.output.pdf)
for line in bench.summary_lines(table):
    log(line)
log.close()
