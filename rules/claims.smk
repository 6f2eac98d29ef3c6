# The claims table: one row per claim, with its statistic, threshold, verdict, and links to its
# figure and to the provenance of the runs behind it.

from pathlib import Path

from memorization.reporting import figure_link, run_provenance_records


localrules:
    claim_provenance,
    claims_table,


rule claim_provenance:
    input:
        records=lambda wildcards: [
            path
            for steps in run_provenance_records(
                RESULTS, wildcards.claim, RUNS[wildcards.claim]
            ).values()
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
    conda:
        "../environment.yml"
    params:
        records=lambda wildcards: run_provenance_records(
            RESULTS, wildcards.claim, RUNS[wildcards.claim]
        ),
        # results/<scale>: record paths in the index are relative to it.
        results=lambda wildcards, output: str(Path(output.index).parent.parent),
    script:
        "../scripts/claim_provenance.py"


rule claims_table:
    input:
        rows=expand(f"{RESULTS}/claims/{{claim}}.csv", claim=CLAIMS),
        provenance=expand(f"{RESULTS}/provenance/{{claim}}.json", claim=CLAIMS),
    output:
        csv=report(
            f"{RESULTS}/claims.csv",
            caption="../report/claims.rst",
            category="Claims",
        ),
        markdown=f"{RESULTS}/claims.md",
    log:
        f"{RESULTS}/logs/claims_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/claims_table.tsv"
    conda:
        "../environment.yml"
    params:
        # Links only: a re-rendered figure does not change the table.
        figures=lambda wildcards: {
            claim: figure_link(FIGURES.get(claim, [])) for claim in CLAIMS
        },
        provenance={claim: f"{RESULTS}/provenance/{claim}.json" for claim in CLAIMS},
    script:
        "../scripts/claims_table.py"
