"""Draws figure C4 from the C4 table and the saved example arrays (never from a model)."""

import pandas as pd

from memorization.plotting.c4 import draw

row = pd.read_csv(snakemake.input.row).iloc[0]
draw(snakemake.input.table, list(snakemake.input.examples), snakemake.output.png, snakemake.output.pdf, row.to_dict())
