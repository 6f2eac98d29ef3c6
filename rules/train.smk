# Training: every model is trained once, under models/<model>/, by the experiment module named
# in its settings (memorization.experiments.<claim>.train; `fc` for the deep nets that C3, C4,
# C5 and C10 share). Claim runs point at the model they measure (see metrics.smk).


rule train:
    input:
        data=model_dataset,
    output:
        model=f"{RESULTS}/models/{{model}}/model.keras",
        history=f"{RESULTS}/models/{{model}}/history.csv",
        training=f"{RESULTS}/models/{{model}}/training.json",
        provenance=f"{RESULTS}/models/{{model}}/provenance.json",
    log:
        f"{RESULTS}/logs/models/{{model}}/train.log",
    benchmark:
        f"{RESULTS}/benchmarks/models/{{model}}/train.tsv"
    wildcard_constraints:
        model="[^/]+",
    threads: THREADS_PER_JOB
    resources:
        **job_resources("train"),
    params:
        settings=model_settings,
        runtime=RUNTIME,
    script:
        "../scripts/train.py"
