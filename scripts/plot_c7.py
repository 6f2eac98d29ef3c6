"""Draws figure C7 from the C7 table and the saved eigenvectors (never from a model)."""

from memorization.plotting.c7 import draw

draw(
    snakemake.input.table,
    snakemake.input.examples,
    snakemake.output.png,
    snakemake.output.pdf,
    alignment_threshold=snakemake.config["c7"]["alignment_threshold"],
)
