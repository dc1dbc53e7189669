"""The network diagrams of dense models in Chromium: label boxes measured with getBBox()
never overlap, and pointing at a node fades the other nodes' projections."""
import functools
import itertools

import pytest

pytestmark = pytest.mark.ui
pytest.importorskip("playwright.sync_api")

from sim_core.models.registry import preset_dict  # noqa: E402
from sim_core.spec import from_dict  # noqa: E402
from widgets.notation import network_svg  # noqa: E402

#: Boxes in SVG user units (no transforms in the drawing), as Chromium lays the text out.
#: Also counts, per label, whether another projection's line passes under it (points every
#: 2 units along each path).
MEASURE = """() => {
  const box = el => { const b = el.getBBox(); return [b.x, b.y, b.x + b.width, b.y + b.height]; };
  const labels = [...document.querySelectorAll('text.annotation')].map(t => [t.dataset.index, box(t)]);
  const nodes = [...document.querySelectorAll('g.node')].map(g => [g.dataset.name, box(g)]);
  const lines = [...document.querySelectorAll('g.edge[data-index] path.line')].map(p => {
    const n = Math.ceil(p.getTotalLength() / 2), pts = [];
    for (let k = 0; k <= n; k++) { const q = p.getPointAtLength(k * 2); pts.push([q.x, q.y]); }
    return [p.parentNode.dataset.index, pts]; });
  const crossed = labels.filter(([i, b]) => lines.some(([j, pts]) => j !== i &&
    pts.some(([x, y]) => x > b[0] && x < b[2] && y > b[1] && y < b[3]))).length;
  return {labels, nodes, crossed};
}"""


@functools.lru_cache(maxsize=None)
def svg_of(preset: str) -> str:
    return network_svg(from_dict(preset_dict(preset, 0.1)), width=1200)


def overlap(a, b, tol: float = 0.25) -> bool:
    return a[0] < b[2] - tol and b[0] < a[2] - tol and a[1] < b[3] - tol and b[1] < a[3] - tol


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    yield page
    page.close()


@pytest.mark.parametrize("preset,labels,most_crossed", [("microcircuit", 63, 30), ("clustered", 8, 0)])
def test_label_boxes_do_not_overlap_in_chromium(page, preset, labels, most_crossed):
    """microcircuit: 63 labels among 63 arrows (46 lay on another arrow before); clustered:
    the compact form's 8 labels (its 1,600 arrows had none)."""
    page.set_content(svg_of(preset))
    m = page.evaluate(MEASURE)
    assert len(m["labels"]) == labels
    for (i, a), (j, b) in itertools.combinations(m["labels"], 2):
        assert not overlap(a, b), (preset, i, j, a, b)
    for (i, a), (name, b) in itertools.product(m["labels"], m["nodes"]):
        assert not overlap(a, b), (preset, i, name, a, b)
    assert m["crossed"] <= most_crossed, m["crossed"]


def test_hover_on_a_node_fades_the_other_projections(page):
    page.set_content(svg_of("microcircuit"))
    opacity = """sel => [...document.querySelectorAll(sel)].map(el => getComputedStyle(el).opacity)"""
    own = 'g.edge[data-source="L4E"], g.edge[data-target="L4E"]'
    other = 'g.edge[data-index]:not([data-source="L4E"]):not([data-target="L4E"])'
    assert set(page.evaluate(opacity, other)) == {"1"}
    page.locator('g.node[data-name="L4E"] .frame').first.hover()
    page.wait_for_timeout(300)  # the fade's transition
    faded = page.evaluate(opacity, other)
    assert faded and all(float(o) < 0.2 for o in faded)
    assert set(page.evaluate(opacity, own)) == {"1"}
    width = page.evaluate("""() => getComputedStyle(document.querySelector(
        'g.edge[data-source="L4E"] path.line')).strokeWidth""")
    assert float(width.rstrip("px")) > 2.0
    key = page.locator('g.node[data-name="L4E"]').get_attribute("data-key")
    labels = page.evaluate(opacity, f'text.annotation:not([data-from="{key}"]):not([data-to="{key}"])')
    assert all(float(o) < 0.2 for o in labels)
    page.mouse.move(1, 1)  # away: everything back
    page.wait_for_timeout(300)
    assert set(page.evaluate(opacity, other)) == {"1"}


def test_network_tab_of_the_app_hovers_and_shows_the_matrix(browser):
    """Inside Panel's shadow DOM too: the default model's diagram fades on hover, and the
    Matrix tab shows one cell per population pair."""
    from app.launch import open_app, running_app, wait_for
    with running_app(backend="cpu") as url:
        page = open_app(browser, url)
        page.locator(".bk-tab", has_text="Network").first.click()
        node = page.locator("svg.spikescope-notation g.node.excitatory").first
        assert wait_for(lambda: node.is_visible())
        name = node.get_attribute("data-name")
        other = page.locator(f'svg.spikescope-notation g.edge[data-index]:not([data-source="{name}"])'
                             f':not([data-target="{name}"])').first
        assert float(other.evaluate("el => getComputedStyle(el).opacity")) == 1.0
        node.locator(".frame").first.hover()
        assert wait_for(lambda: float(other.evaluate("el => getComputedStyle(el).opacity")) < 0.2, 5)
        page.locator(".bk-tab", has_text="Matrix").first.click()
        cells = page.locator("svg.spikescope-matrix rect.cell")
        assert wait_for(lambda: cells.count() == 4 and cells.first.is_visible())
        page.close()
