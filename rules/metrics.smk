# Measurement and summary: each run of a claim measures its model
# (memorization.experiments.<claim>.measure), in batches of runs of one claim, one job per
# batch (resources.measure.runs_per_job; rules measure_<claim>_<k>), and each claim's runs
# become one tidy table and one claims row (memorization.experiments.<claim>.summarize).


for _batch in LAYOUT.measure_batches:

    rule:
        name:
            _batch.name
        input:
            LAYOUT.batch_inputs(_batch),
        output:
            LAYOUT.batch_outputs(_batch),
        log:
            LAYOUT.batch_logs(_batch),
        benchmark:
            LAYOUT.batch_benchmark(_batch)
        threads: THREADS_PER_JOB
        resources:
            **batch_resources(_batch),
        params:
            steps=LAYOUT.batch_steps(_batch),
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
