# Data preparation: the standard Keras loaders, or a local mirror (config key data_mirror).


localrules:
    prepare_data,


rule prepare_data:
    output:
        data=f"{RESULTS}/data/{{dataset}}.npz",
        provenance=f"{RESULTS}/data/{{dataset}}.provenance.json",
    log:
        f"{RESULTS}/logs/data/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/data/{{dataset}}.tsv"
    wildcard_constraints:
        dataset="mnist|fashion_mnist|cifar10",
    params:
        runtime=RUNTIME,
    script:
        "../scripts/prepare_data.py"
