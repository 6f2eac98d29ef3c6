# Training: every model is trained once, under models/<model>/, by the experiment module named
# in its settings (memorization.experiments.<claim>.train; `fc` for the deep nets that C3, C4,
# C5 and C10 share). Models of one experiment are trained in batches, one job per batch, each
# job one process (resources.train.runs_per_job; README, "Batched jobs"); the generated rules
# are named train_<experiment>_<k>. Claim runs point at the model they measure (see metrics.smk).

for _batch in LAYOUT.train_batches:

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
            "../scripts/train.py"
