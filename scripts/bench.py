"""Workflow entry point: the side-by-side training benchmark (memorization.bench), with one
thread per implementation and with the rule's threads."""

from memorization import bench
from memorization.scripting import StepLog

log = StepLog(snakemake.log[0])
table = bench.run_benches(
    thread_counts=sorted({1, snakemake.threads}),
    shapes=list(bench.SHAPES),
    backends=bench.installed_backends(),
    default_backend=snakemake.params.default_backend,
    log=log,
)
bench.write_table(table, snakemake.output.csv)
bench.draw(table, snakemake.output.png, snakemake.output.pdf)
for line in bench.summary_lines(table):
    log(line)
log.close()
