"""The claims this workflow reproduces, in the paper's order: the one list everything reads.

Rules, report categories, the `all` target, the archive and the tests take the claims from here.
A claim is implemented by two library modules named after its id: the experiment
`memorization.experiments.<id>` (``expand_runs``, ``train``, ``measure``, ``summarize``) and the
figure `memorization.plotting.<id>` (``draw(data, params) -> Figure``); its settings live in the
config section ``<id>`` (schema ``config/schema/<id>.schema.yaml``) and its report caption in
``report/<id>.rst``. Adding a claim means adding those and one entry below, and no rule.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    # What is trained: "linear" (one matrix), "single-layer", "fc" (deep MLPs shared between
    # claims), "linear-conv" (float64 linear conv nets) or "conv" (nonlinear conv nets).
    family: str
    extension: bool = False
    # Other claims whose tables this claim's figure also draws, when they are configured.
    figure_reads: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.id.upper()

    @property
    def category(self) -> str:
        """Report category. Snakemake's report menu sorts categories as text, so the claim's
        position leads, zero-padded: C10 then sorts after C9, not after C1."""
        return f"{self.position:02d} · {self.label} {self.title}"

    @property
    def position(self) -> int:
        return CLAIM_IDS.index(self.id) + 1

    def experiment(self) -> ModuleType:
        return importlib.import_module(f"memorization.experiments.{self.id}")

    def plotting(self) -> ModuleType:
        return importlib.import_module(f"memorization.plotting.{self.id}")

    def plotting_source(self) -> Path:
        """The file of the plotting module that will be imported, found without importing it
        (the plotting package pulls in Matplotlib and seaborn)."""
        import memorization

        return Path(memorization.__file__).resolve().parent / "plotting" / f"{self.id}.py"


CLAIMS: tuple[Claim, ...] = (
    Claim("c1", "linear span", "linear"),
    Claim("c2", "nonlinear span", "single-layer"),
    Claim("c3", "local contraction", "fc"),
    Claim("c4", "iteration", "fc"),
    Claim("c5", "width x depth", "fc"),
    Claim("c6", "conv depth", "linear-conv", figure_reads=("c7",)),
    Claim("c7", "conv downsampling", "linear-conv"),
    Claim("c8", "nonlinear conv", "conv"),
    Claim("c9", "limit cycles", "fc", extension=True),
    Claim("c10", "basins", "fc", extension=True),
)
CLAIM_IDS: tuple[str, ...] = tuple(claim.id for claim in CLAIMS)
CLAIMS_CATEGORY = "00 · Claims table"


def claim(claim_id: str) -> Claim:
    for entry in CLAIMS:
        if entry.id == claim_id:
            return entry
    raise KeyError(f"unknown claim {claim_id!r}; the claims are {', '.join(CLAIM_IDS)}")


def configured(config: dict) -> list[Claim]:
    """The claims that have a section in ``config``, in the paper's order."""
    return [entry for entry in CLAIMS if entry.id in config]
