# The claims table: one row per claim, with its statistic, threshold and verdict.


localrules:
    claims_table,


rule claims_table:
    input:
        rows=expand(f"{RESULTS}/claims/{{claim}}.csv", claim=CLAIMS),
    output:
        csv=f"{RESULTS}/claims.csv",
        markdown=f"{RESULTS}/claims.md",
    log:
        f"{RESULTS}/logs/claims_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/claims_table.tsv"
    conda:
        "../environment.yml"
    script:
        "../scripts/claims_table.py"
