"""Draws figure C8 from the C8 table and the saved iterates (never from a model)."""

from memorization.plotting.c8 import draw

section = snakemake.config["c8"]
draw(
    snakemake.input.table,
    snakemake.input.examples,
    snakemake.output.png,
    snakemake.output.pdf,
    eps=section.get("eps", 0.05),
    iterations=section.get("iterations", 100),
)
