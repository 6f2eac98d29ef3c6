# Reproduction of "Memorization in Overparameterized Autoencoders" (arXiv:1810.10333).
# Every figure and table regenerates from this one DAG; see README.md.


from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"


onstart:
    print_plan()


rule all:
    default_target: True
    input:
        all_targets,


include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/metrics.smk"
include: "rules/figures.smk"
include: "rules/claims.smk"
include: "rules/report.smk"
include: "rules/bench.smk"
