"""Workflow entry point: the provenance index of one claim (every run's records, with checksums)."""

from memorization.files import write_json
from memorization.provenance import claim_index

claim = snakemake.wildcards.claim
index = claim_index(claim, snakemake.params.records, snakemake.params.results)
write_json(snakemake.output.index, index)
with open(snakemake.log[0], "w") as log:
    log.write(f"{claim}: {index['summary']}\n")
