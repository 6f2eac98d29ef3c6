"""Workflow entry point: the provenance index of one claim (every run's records, with checksums)."""

from memorization.provenance import claim_index, write_json_atomic

claim = snakemake.wildcards.claim
index = claim_index(claim, snakemake.params.records, snakemake.params.results)
write_json_atomic(snakemake.output.index, index)
with open(snakemake.log[0], "w") as log:
    log.write(f"{claim}: {index['summary']}\n")
