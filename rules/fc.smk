# Fully connected claims C2 (single layer, nonlinear span) and C3, C4, C5, C10 (deep MLPs:
# contraction, iteration, width x depth sweep, basins). C2 runs through the generic rules.
# The deep models are shared: each claim's run names the model it measures, every distinct
# model is trained once under runs/fc/<model>/, and each claim run adopts (copies) its files,
# after which the generic measure and summarize rules take over.

FC_CLAIMS = [claim for claim in ("c3", "c4", "c5", "c10") if claim in CLAIMS]
# model key -> model settings, over every FC claim that is configured.
FC_MODELS = {
    settings["model_key"]: settings["model"]
    for claim in FC_CLAIMS
    for settings in RUNS[claim].values()
}
FC_RUN_FILES = ["model.keras", "history.csv", "training.json", "provenance.json"]


ruleorder: adopt_fc_model > train


localrules:
    adopt_fc_model,


rule train_fc_model:
    input:
        data=lambda wildcards: data_path(FC_MODELS[wildcards.run]["dataset"]),
    output:
        model=f"{RESULTS}/runs/{{claim}}/{{run}}/model.keras",
        history=f"{RESULTS}/runs/{{claim}}/{{run}}/history.csv",
        training=f"{RESULTS}/runs/{{claim}}/{{run}}/training.json",
        provenance=f"{RESULTS}/runs/{{claim}}/{{run}}/provenance.json",
    log:
        f"{RESULTS}/logs/{{claim}}/train/{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{claim}}/train/{{run}}.tsv"
    wildcard_constraints:
        claim="fc",
        run="[^/]+",
    conda:
        "../environment.yml"
    threads: THREADS_PER_JOB
    resources:
        **job_resources("train"),
    params:
        settings=lambda wildcards: FC_MODELS[wildcards.run],
        runtime=RUNTIME,
    script:
        "../scripts/train.py"


rule adopt_fc_model:
    input:
        files=lambda wildcards: expand(
            f"{RESULTS}/runs/fc/{RUNS[wildcards.claim][wildcards.run]['model_key']}/{{name}}",
            name=FC_RUN_FILES,
        ),
    output:
        model=f"{RESULTS}/runs/{{claim}}/{{run}}/model.keras",
        history=f"{RESULTS}/runs/{{claim}}/{{run}}/history.csv",
        training=f"{RESULTS}/runs/{{claim}}/{{run}}/training.json",
        provenance=f"{RESULTS}/runs/{{claim}}/{{run}}/provenance.json",
    log:
        f"{RESULTS}/logs/{{claim}}/adopt/{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{claim}}/adopt/{{run}}.tsv"
    wildcard_constraints:
        claim="c3|c4|c5|c10",
        run="[^/]+",
    conda:
        "../environment.yml"
    script:
        "../scripts/adopt_model.py"


for _claim in ["c2"] + FC_CLAIMS:
    if _claim in CLAIMS:
        FIGURES[_claim] = figure_files(_claim)


rule plot_c2:
    input:
        table=f"{RESULTS}/tables/c2.csv",
        row=f"{RESULTS}/claims/c2.csv",
        examples=expand(
            f"{RESULTS}/runs/c2/{{run}}/examples.npz", run=RUNS.get("c2", {})
        ),
    output:
        png=report(
            f"{RESULTS}/figures/c2.png",
            caption="../report/c2.rst",
            category="C2 nonlinear span",
        ),
        pdf=f"{RESULTS}/figures/c2.pdf",
    log:
        f"{RESULTS}/logs/c2/plot.log",
    benchmark:
        f"{RESULTS}/benchmarks/c2/plot.tsv"
    conda:
        "../environment.yml"
    resources:
        **job_resources("other", claim="c2"),
    script:
        "../scripts/plot_c2.py"


rule fig_c2:
    input:
        FIGURES.get("c2", []),


rule plot_c3:
    input:
        table=f"{RESULTS}/tables/c3.csv",
        row=f"{RESULTS}/claims/c3.csv",
        examples=expand(
            f"{RESULTS}/runs/c3/{{run}}/examples.npz", run=RUNS.get("c3", {})
        ),
    output:
        png=report(
            f"{RESULTS}/figures/c3.png",
            caption="../report/c3.rst",
            category="C3 local contraction",
        ),
        pdf=f"{RESULTS}/figures/c3.pdf",
    log:
        f"{RESULTS}/logs/c3/plot.log",
    benchmark:
        f"{RESULTS}/benchmarks/c3/plot.tsv"
    conda:
        "../environment.yml"
    resources:
        **job_resources("other", claim="c3"),
    script:
        "../scripts/plot_c3.py"


rule fig_c3:
    input:
        FIGURES.get("c3", []),


rule plot_c4:
    input:
        table=f"{RESULTS}/tables/c4.csv",
        row=f"{RESULTS}/claims/c4.csv",
        examples=expand(
            f"{RESULTS}/runs/c4/{{run}}/examples.npz", run=RUNS.get("c4", {})
        ),
    output:
        png=report(
            f"{RESULTS}/figures/c4.png",
            caption="../report/c4.rst",
            category="C4 iteration",
        ),
        pdf=f"{RESULTS}/figures/c4.pdf",
    log:
        f"{RESULTS}/logs/c4/plot.log",
    benchmark:
        f"{RESULTS}/benchmarks/c4/plot.tsv"
    conda:
        "../environment.yml"
    resources:
        **job_resources("other", claim="c4"),
    script:
        "../scripts/plot_c4.py"


rule fig_c4:
    input:
        FIGURES.get("c4", []),


rule plot_c5:
    input:
        table=f"{RESULTS}/tables/c5.csv",
        row=f"{RESULTS}/claims/c5.csv",
        examples=expand(
            f"{RESULTS}/runs/c5/{{run}}/examples.npz", run=RUNS.get("c5", {})
        ),
    output:
        png=report(
            f"{RESULTS}/figures/c5.png",
            caption="../report/c5.rst",
            category="C5 width x depth",
        ),
        pdf=f"{RESULTS}/figures/c5.pdf",
    log:
        f"{RESULTS}/logs/c5/plot.log",
    benchmark:
        f"{RESULTS}/benchmarks/c5/plot.tsv"
    conda:
        "../environment.yml"
    resources:
        **job_resources("other", claim="c5"),
    script:
        "../scripts/plot_c5.py"


rule fig_c5:
    input:
        FIGURES.get("c5", []),


rule plot_c10:
    input:
        table=f"{RESULTS}/tables/c10.csv",
        row=f"{RESULTS}/claims/c10.csv",
        examples=expand(
            f"{RESULTS}/runs/c10/{{run}}/examples.npz", run=RUNS.get("c10", {})
        ),
    output:
        png=report(
            f"{RESULTS}/figures/c10.png",
            caption="../report/c10.rst",
            category="C10 basins",
        ),
        pdf=f"{RESULTS}/figures/c10.pdf",
    log:
        f"{RESULTS}/logs/c10/plot.log",
    benchmark:
        f"{RESULTS}/benchmarks/c10/plot.tsv"
    conda:
        "../environment.yml"
    resources:
        **job_resources("other", claim="c10"),
    script:
        "../scripts/plot_c10.py"


rule fig_c10:
    input:
        FIGURES.get("c10", []),
