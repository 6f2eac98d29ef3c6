# Measurement and summary: each run of a claim measures its model
# (memorization.experiments.<claim>.measure), and each claim's runs become one tidy table and
# one claims row (memorization.experiments.<claim>.summarize).


rule measure:
    input:
        data=run_dataset,
        model=run_model_file("model.keras"),
        training=run_model_file("training.json"),
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
    resources:
        **job_resources("other"),
    params:
        settings=lambda wildcards: {"section": config[wildcards.claim], "scale": SCALE},
        runtime=RUNTIME,
    script:
        "../scripts/summarize.py"
