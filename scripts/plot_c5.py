"""Draws figure C5 from the C5 table and the saved example arrays (never from a model)."""

import pandas as pd

from memorization.plotting.c5 import draw

row = pd.read_csv(snakemake.input.row).iloc[0]
draw(snakemake.input.table, list(snakemake.input.examples), snakemake.output.png, snakemake.output.pdf, row.to_dict())
