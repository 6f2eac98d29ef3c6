"""Every claim's figure, drawn from the test-scale run: it states its claims row, and it draws
every seed (the spread over seeds, not one line from one draw)."""

import io

import numpy as np
import pytest
import yaml

from conftest import REPO
from memorization import registry
from memorization.config import load_workflow_config
from memorization.layout import Layout
from memorization.plotting import FigureData, claim_line, use_style

pytestmark = pytest.mark.workflow
CLAIMS = [claim.id for claim in registry.CLAIMS]
# Claims that the test scale runs with several seeds (C1, C2 and C9 run one there).
SEVERAL_SEEDS = [claim for claim, section in yaml.safe_load((REPO / "config" / "test.yaml").read_text()).items()
                 if claim in CLAIMS and len(section.get("seeds", [])) >= 2]


@pytest.fixture(scope="module")
def test_layout(test_scale_run):
    config = load_workflow_config([test_scale_run / "config" / "test.yaml"], REPO / "config" / "schema" / "config.schema.yaml",
                                  default=test_scale_run / "config" / "config.yaml")
    return config, Layout(config)


def figure_data(root, layout: Layout, claim: str) -> FigureData:
    return FigureData(root / layout.table(claim), root / layout.row(claim),
                      [root / path for path in layout.examples(claim)],
                      [root / path for path in layout.figure_tables(claim)])


def pixels(figure) -> np.ndarray:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=40)
    plt.close(figure)
    buffer.seek(0)
    return plt.imread(buffer)


def only_first_seed(frame):
    if "seed" not in frame.columns or frame.seed.isna().all():
        return frame
    first = frame.seed.dropna().min()
    return frame[frame.seed.isna() | (frame.seed == first)]


@pytest.mark.parametrize("claim", CLAIMS)
def test_figure_states_its_claims_row(claim, test_scale_run, test_layout):
    config, layout = test_layout
    data = figure_data(test_scale_run, layout, claim)
    use_style()
    figure = registry.claim(claim).plotting().draw(data, {"scale": "test", **config[claim]})
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    # Titles may be a suptitle, an axes title or free text, and may wrap.
    shown = " ".join(" ".join(text.get_text() for text in figure.findobj(Text)).split())
    plt.close(figure)
    assert " ".join(claim_line(data.row).split()) in shown


def test_several_claims_are_checked_for_their_spread():
    assert len(SEVERAL_SEEDS) >= 7


@pytest.mark.parametrize("claim", SEVERAL_SEEDS)
def test_figure_draws_every_seed(claim, test_scale_run, test_layout):
    config, layout = test_layout
    data = figure_data(test_scale_run, layout, claim)
    assert data.table.seed.dropna().nunique() >= 2
    draw = registry.claim(claim).plotting().draw
    params = {"scale": "test", **config[claim]}
    use_style()
    every_seed = pixels(draw(data, params))
    data.table = only_first_seed(data.table)
    data.tables = {name: only_first_seed(table) for name, table in data.tables.items()}
    first_seed = pixels(draw(data, params))
    # A figure that showed one draw only would come out the same without the other seeds.
    assert every_seed.shape != first_seed.shape or not np.array_equal(every_seed, first_seed)
