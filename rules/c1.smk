# C1: a linear single-layer autoencoder trained by gradient descent projects onto the span.

FIGURES["c1"] = figure_files("c1")


rule plot_c1:
    input:
        table=f"{RESULTS}/tables/c1.csv",
        row=f"{RESULTS}/claims/c1.csv",
        examples=expand(f"{RESULTS}/runs/c1/{{run}}/examples.npz", run=RUNS["c1"]),
    output:
        png=report(
            f"{RESULTS}/figures/c1.png",
            caption="../report/c1.rst",
            category="C1 linear span",
        ),
        pdf=f"{RESULTS}/figures/c1.pdf",
    log:
        f"{RESULTS}/logs/c1/plot.log",
    benchmark:
        f"{RESULTS}/benchmarks/c1/plot.tsv"
    conda:
        "../environment.yml"
    resources:
        **job_resources("other", claim="c1"),
    script:
        "../scripts/plot_c1.py"


rule fig_c1:
    input:
        FIGURES["c1"],
