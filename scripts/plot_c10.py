"""Draws figure C10 from the C10 table and the saved example arrays (never from a model)."""

import pandas as pd

from memorization.plotting.c10 import draw

row = pd.read_csv(snakemake.input.row).iloc[0]
draw(snakemake.input.table, list(snakemake.input.examples), snakemake.output.png, snakemake.output.pdf, row.to_dict())
