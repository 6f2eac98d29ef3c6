# Convolutional claims C6 (depth is necessary: linear stride-1 nets), C7 (downsampling
# memorizes: linear stride-2 nets) and C8 (deep nonlinear conv nets output training images).
# Every run trains and measures through the generic rules of experiments.smk; only the
# figures are drawn here. The C6 figure also draws L*(s) of the C7 nets when C7 is configured.

for _claim in ("c6", "c7", "c8"):
    if _claim in CLAIMS:
        FIGURES[_claim] = figure_files(_claim)


rule plot_c6:
    input:
        table=f"{RESULTS}/tables/c6.csv",
        row=f"{RESULTS}/claims/c6.csv",
        examples=expand(
            f"{RESULTS}/runs/c6/{{run}}/examples.npz", run=RUNS.get("c6", {})
        ),
        downsampling_table=([f"{RESULTS}/tables/c7.csv"] if "c7" in CLAIMS else []),
    output:
        png=report(
            f"{RESULTS}/figures/c6.png",
            caption="../report/c6.rst",
            category="C6 conv depth",
        ),
        pdf=f"{RESULTS}/figures/c6.pdf",
    log:
        f"{RESULTS}/logs/c6/plot.log",
    benchmark:
        f"{RESULTS}/benchmarks/c6/plot.tsv"
    conda:
        "../environment.yml"
    resources:
        **job_resources("other", claim="c6"),
    script:
        "../scripts/plot_c6.py"


rule fig_c6:
    input:
        FIGURES.get("c6", []),


rule plot_c7:
    input:
        table=f"{RESULTS}/tables/c7.csv",
        row=f"{RESULTS}/claims/c7.csv",
        examples=expand(
            f"{RESULTS}/runs/c7/{{run}}/examples.npz", run=RUNS.get("c7", {})
        ),
    output:
        png=report(
            f"{RESULTS}/figures/c7.png",
            caption="../report/c7.rst",
            category="C7 conv downsampling",
        ),
        pdf=f"{RESULTS}/figures/c7.pdf",
    log:
        f"{RESULTS}/logs/c7/plot.log",
    benchmark:
        f"{RESULTS}/benchmarks/c7/plot.tsv"
    conda:
        "../environment.yml"
    resources:
        **job_resources("other", claim="c7"),
    script:
        "../scripts/plot_c7.py"


rule fig_c7:
    input:
        FIGURES.get("c7", []),


rule plot_c8:
    input:
        table=f"{RESULTS}/tables/c8.csv",
        row=f"{RESULTS}/claims/c8.csv",
        examples=expand(
            f"{RESULTS}/runs/c8/{{run}}/examples.npz", run=RUNS.get("c8", {})
        ),
    output:
        png=report(
            f"{RESULTS}/figures/c8.png",
            caption="../report/c8.rst",
            category="C8 nonlinear conv",
        ),
        pdf=f"{RESULTS}/figures/c8.pdf",
    log:
        f"{RESULTS}/logs/c8/plot.log",
    benchmark:
        f"{RESULTS}/benchmarks/c8/plot.tsv"
    conda:
        "../environment.yml"
    resources:
        **job_resources("other", claim="c8"),
    script:
        "../scripts/plot_c8.py"


rule fig_c8:
    input:
        FIGURES.get("c8", []),
