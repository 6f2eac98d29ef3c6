"""Workflow entry point: assemble claims.csv and claims.md from the per-claim rows."""

from memorization.claims import assemble_claims_table

table = assemble_claims_table(
    snakemake.input.rows,
    snakemake.output.csv,
    snakemake.output.markdown,
    figures=snakemake.params.figures,
    provenance=snakemake.params.provenance,
)
with open(snakemake.log[0], "w") as log:
    log.write(table.to_string() + "\n")
