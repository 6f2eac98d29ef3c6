"""Draws figure C6 from the C6 table (and the C7 table, for L*(s) with downsampling) and saved eigenvectors."""

from memorization.plotting.c6 import draw

draw(
    snakemake.input.table,
    snakemake.input.examples,
    snakemake.output.png,
    snakemake.output.pdf,
    alignment_threshold=snakemake.config["c6"]["alignment_threshold"],
    downsampling_table_path=snakemake.input.downsampling_table[0] if snakemake.input.downsampling_table else None,
)
