# The claims table: one row per claim, with its statistic, threshold, verdict, and links to its
# figure and to the provenance of the runs behind it.

from pathlib import Path


localrules:
    claim_provenance,
    claims_table,


rule claim_provenance:
    input:
        records=lambda wildcards: [
            path
            for steps in LAYOUT.provenance_records(wildcards.claim).values()
            for path in steps.values()
        ],
    output:
        index=f"{RESULTS}/provenance/{{claim}}.json",
    log:
        f"{RESULTS}/logs/{{claim}}/provenance.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{claim}}/provenance.tsv"
    wildcard_constraints:
        claim="c[0-9]+",
    params:
        records=lambda wildcards: LAYOUT.provenance_records(wildcards.claim),
        # results/<scale>: record paths in the index are relative to it.
        results=lambda wildcards, output: str(Path(output.index).parent.parent),
    script:
        "../scripts/claim_provenance.py"


rule claims_table:
    input:
        rows=[LAYOUT.row(claim) for claim in CLAIMS],
        provenance=[LAYOUT.claim_provenance(claim) for claim in CLAIMS],
    output:
        csv=report(
            f"{RESULTS}/claims.csv",
            caption="../report/claims.rst",
            category=CLAIMS_CATEGORY,
        ),
        markdown=f"{RESULTS}/claims.md",
    log:
        f"{RESULTS}/logs/claims_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/claims_table.tsv"
    params:
        # Links only: a re-rendered figure does not change the table.
        figures={claim: LAYOUT.figures(claim)[0] for claim in CLAIMS},
        provenance={claim: LAYOUT.claim_provenance(claim) for claim in CLAIMS},
    script:
        "../scripts/claims_table.py"
