# Figures: one generated pair of rules per claim of the registry. `plot_cN` draws the figure
# with memorization.plotting.cN.draw from the claim's table, claims row and saved example arrays
# (never from a model, so re-rendering takes seconds); the plotting module is an input, so
# editing it redraws exactly that figure. `fig_cN` is the target a user asks for: the figure and
# everything it stands on (table, claims row, each run's metrics), so none of them can be missing.

for _claim in LAYOUT.claims:

    rule:
        name:
            f"plot_{_claim.id}"
        input:
            table=LAYOUT.table(_claim.id),
            row=LAYOUT.row(_claim.id),
            examples=LAYOUT.examples(_claim.id),
            tables=LAYOUT.figure_tables(_claim.id),
            module=source_file(_claim.plotting_source()),
        output:
            png=report(
                LAYOUT.figures(_claim.id)[0],
                caption=f"../report/{_claim.id}.rst",
                category=_claim.category,
            ),
            pdf=LAYOUT.figures(_claim.id)[1],
        log:
            f"{RESULTS}/logs/{_claim.id}/plot.log",
        benchmark:
            f"{RESULTS}/benchmarks/{_claim.id}/plot.tsv"
        resources:
            **job_resources("other", claim=_claim.id),
        params:
            claim=_claim.id,
            settings={"scale": SCALE, **config[_claim.id]},
        script:
            "../scripts/plot.py"

    rule:
        name:
            f"fig_{_claim.id}"
        input:
            LAYOUT.claim_targets(_claim.id),
