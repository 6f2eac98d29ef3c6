"""Draws figure C1 from the C1 table and the saved example arrays (never from a model)."""

import pandas as pd

from memorization.plotting.c1 import draw

threshold = float(pd.read_csv(snakemake.input.row)["threshold"].iloc[0])
draw(snakemake.input.table, snakemake.input.examples, snakemake.output.png, snakemake.output.pdf, threshold)
