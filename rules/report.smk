# The Snakemake HTML report and the archive that proves every number (see README.md):
#   snakemake --cores N archive   ->  results/<scale>/archive.tar.gz
#   memorization verify-archive results/<scale>/archive.tar.gz

from pathlib import Path

from memorization.reporting import workflow_sources


localrules:
    effective_config,
    html_report,
    archive,


rule effective_config:
    output:
        config=f"{RESULTS}/config.yaml",
    log:
        f"{RESULTS}/logs/effective_config.log",
    benchmark:
        f"{RESULTS}/benchmarks/effective_config.tsv"
    params:
        config=config,
    script:
        "../scripts/effective_config.py"


rule html_report:
    input:
        targets=all_targets,
        config=f"{RESULTS}/config.yaml",
    output:
        html=f"{RESULTS}/report.html",
    log:
        f"{RESULTS}/logs/report.log",
    benchmark:
        f"{RESULTS}/benchmarks/report.tsv"
    params:
        snakefile=workflow.main_snakefile,
    script:
        "../scripts/html_report.py"


rule archive:
    input:
        **LAYOUT.archive_inputs(config["archive"]["include_models"]),
    output:
        archive=f"{RESULTS}/archive.tar.gz",
    log:
        f"{RESULTS}/logs/archive.log",
    benchmark:
        f"{RESULTS}/benchmarks/archive.tsv"
    params:
        results=lambda wildcards, output: str(Path(output.archive).parent),
        scale=SCALE,
        basedir=workflow.basedir,
        sources=workflow_sources(workflow.basedir),
    script:
        "../scripts/archive.py"
