# Generic training, measurement and summary rules shared by the claims: each dispatches to
# memorization.experiments.<claim>, whose expand_runs() names the runs of a claim.


rule train:
    input:
        data=run_dataset,
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
        claim="c[0-9]+",
        run="[^/]+",
    conda:
        "../environment.yml"
    threads: THREADS_PER_JOB
    resources:
        **job_resources("train"),
    params:
        settings=run_settings,
        runtime=RUNTIME,
    script:
        "../scripts/train.py"


rule measure:
    input:
        data=run_dataset,
        model=f"{RESULTS}/runs/{{claim}}/{{run}}/model.keras",
        training=f"{RESULTS}/runs/{{claim}}/{{run}}/training.json",
    output:
        metrics=f"{RESULTS}/runs/{{claim}}/{{run}}/metrics.json",
        examples=f"{RESULTS}/runs/{{claim}}/{{run}}/examples.npz",
        provenance=f"{RESULTS}/runs/{{claim}}/{{run}}/metrics.provenance.json",
    log:
        f"{RESULTS}/logs/{{claim}}/measure/{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{claim}}/measure/{{run}}.tsv"
    wildcard_constraints:
        claim="c[0-9]+",
        run="[^/]+",
    conda:
        "../environment.yml"
    threads: THREADS_PER_JOB
    resources:
        **job_resources("measure"),
    params:
        settings=run_settings,
        runtime=RUNTIME,
    script:
        "../scripts/measure.py"


rule summarize:
    input:
        metrics=metrics_of_claim,
    output:
        table=f"{RESULTS}/tables/{{claim}}.csv",
        row=f"{RESULTS}/claims/{{claim}}.csv",
    log:
        f"{RESULTS}/logs/{{claim}}/summarize.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{claim}}/summarize.tsv"
    wildcard_constraints:
        claim="c[0-9]+",
    conda:
        "../environment.yml"
    resources:
        **job_resources("other"),
    params:
        settings=lambda wildcards: {"section": config[wildcards.claim], "scale": SCALE},
        runtime=RUNTIME,
    script:
        "../scripts/summarize.py"
