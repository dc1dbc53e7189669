"""A saved session reloads as it was (model, time, spikes, tab, lesson step, window), a bad
one names its field and changes nothing, and the view exports as a slide-sized PNG."""
import json

import numpy as np
import pytest

from sim_core.errors import SpecError
from widgets.plots import snapshot


@pytest.fixture
def pages():
    from app.main import create_app
    made = []

    def make():
        made.append(create_app(backend="cpu"))
        return made[-1]
    yield make
    for p in made:
        p.state.close()


def _upload(page, name: str, text: str):
    page.files.upload.filename = name
    page.files.upload.value = text.encode()


def test_a_session_reloads_as_it_was(pages):
    a = pages()
    a.lessons.open("rules")
    a.lessons.go(1)
    a.state.advance(250.0)
    a.tabs.active = 1
    a.tick()
    text = a.files._session().getvalue().decode()
    assert json.loads(text)["format"] == "spikescope-session/1"
    b = pages()
    _upload(b, "mine-session.json", text)
    assert b.state.message == "session restored at t = 250.0 ms"
    assert b.state.spec == a.state.spec and b.state.t == a.state.t and not b.state.running
    sa, sb = snapshot(a.state, 10_000.0), snapshot(b.state, 10_000.0)
    assert sa.steps.size > 100
    np.testing.assert_array_equal(sa.steps, sb.steps)  # the same spikes: re-run, deterministic
    np.testing.assert_array_equal(sa.ids, sb.ids)
    assert (b.tabs.active, b.lessons.lesson, b.lessons.step) == (1, "rules", 1)
    assert b.lessons.text.object == a.lessons.text.object


@pytest.mark.parametrize("change, field", [({"t_ms": -5}, "t_ms"), ({"seed": "x"}, "seed"),
                                           ({"spec": {"format": "spikescope/1"}}, "spec.name")])
def test_a_bad_session_names_its_field_and_changes_nothing(pages, change, field):
    a = pages()
    data = json.loads(a.files._session().getvalue())
    data.update(change)
    b = pages()
    before = b.state.spec
    _upload(b, "bad.json", json.dumps(data))
    assert b.files.error.visible and field in b.files.error.object
    assert b.state.spec is before


def test_a_session_file_is_refused_by_restore_when_it_is_no_session(pages):
    from widgets.session_file import restore
    a = pages()
    with pytest.raises(SpecError, match="format"):
        restore(a.state, {"format": "spikescope/1"})


def test_the_view_exports_as_a_png_for_slides(pages):
    from PIL import Image
    import io
    a = pages()
    a.state.advance(200.0)
    a.tick()
    png = a.files._png().getvalue()
    image = Image.open(io.BytesIO(png))
    assert image.size == (1920, 1080)
    pixels = np.asarray(image.convert("RGB"))
    assert (pixels == 255).all(axis=2).mean() > 0.5  # a white slide ...
    blue = (np.abs(pixels.astype(int) - (31, 119, 180)).sum(axis=2) < 60).sum()
    assert blue > 200  # ... with the first population's spikes and rate in its colour
    assert a.files.downloads.objects[-1].filename == "brunel_small-view.png" or \
        a.files.downloads.objects[-1].filename.endswith("-view.png")
