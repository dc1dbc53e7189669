"""The lessons: each runs end to end in a session (every step's model loads, every task's
"Show me" does what the task asks), the f-I lesson's measured points meet the theory on the
step grid, the rules lesson draws the network's real in-degrees, and the lesson notebooks
are what ``notebooks/make_lessons.py`` writes from the same steps."""
import importlib.util
import pathlib

import numpy as np
import pytest

from sim_core.analysis.fi import lif_rate, regular_rate, rheobase
from sim_core.engine.simulation import Simulation
from sim_core.models.lessons import fi_sweep, rules_side_by_side, single_neuron
from sim_core.spec import from_dict
from widgets.lesson_content import LESSONS

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def app():
    from app.main import create_app
    page = create_app(backend="cpu")
    yield page
    page.state.close()


def test_fi_theory_on_the_grid_is_what_the_engine_fires():
    """Exact integration, threshold tested at the end of each step: the measured rates equal
    the closed form with the time to threshold rounded up to the 0.1 ms grid."""
    currents = [300.0, rheobase() + 1.0, 400.0, 650.0, 1200.0, 3000.0]
    sim = Simulation(from_dict(fi_sweep(currents)), seed=1)
    sim.run(1500.0)
    measured = [regular_rate(sim.spikes(f"I{k}")[0]) or 0.0 for k in range(len(currents))]
    np.testing.assert_allclose(measured, lif_rate(currents, dt=0.1), rtol=1e-12, atol=1e-12)
    assert measured[0] == 0.0 and measured[1] > 0.0  # nothing below the rheobase (375 pA)
    continuous = lif_rate(currents)
    assert np.all(continuous[2:] > measured[2:])  # the grid only ever delays a spike


def test_every_lesson_runs_step_by_step_in_a_session(app):
    lessons, state = app.lessons, app.state
    for key, lesson in LESSONS.items():
        lessons.open(key)
        assert lessons.choose.value == lesson.title
        for k, step in enumerate(lesson.steps):
            lessons.go(k)
            assert lessons.text.object.startswith(f"**{k + 1}/{len(lesson.steps)} · {step.title}**")
            if step.show is not None:
                if step.done is not None:
                    assert not step.done(state.spec), f"{key} step {k}: done before the student did it"
                lessons.do_show()
                assert state.message.startswith("lesson: shown"), state.message
                if step.done is not None:
                    assert step.done(state.spec) and lessons.task.object.startswith("✓ done")
            state.step_ms = 50.0
            state.step()  # the loaded model runs
        assert lessons.next.disabled  # the last step


def test_the_fi_step_measures_the_rate_live_and_it_sits_on_the_grid_curve(app):
    lessons, state = app.lessons, app.state
    lessons.open("fi")
    lessons.go(1)
    lessons.do_show()  # I_e = 400 pA
    state.step_ms = 400.0
    for _ in range(3):
        state.step()
        app.tick()
    assert lessons._fi.measured == {400.0: pytest.approx(lif_rate(400.0, dt=0.1)[0], rel=1e-12)}
    pts = lessons._fi._points.data
    assert list(pts["x"]) == [400.0]


def test_the_rules_step_draws_the_networks_in_degrees(app):
    lessons, state = app.lessons, app.state
    lessons.open("rules")
    labels = lessons._degrees._src.data["label"]
    assert [lab.split()[0] for lab in labels] == ["pairwise_bernoulli", "fixed_indegree", "fixed_outdegree",
                                                 "fixed_total_number"]
    assert "fixed_indegree (std 0.0)" in labels  # exactly 10 inputs each
    # the drawn histogram is the built network's: total synapses per projection
    conns = [c for c in state.sim.network.connectome.connections if c.source == "S"]
    ys = lessons._degrees._src.data["ys"]
    xs = lessons._degrees._src.data["xs"]
    for c, x, y in zip(conns, xs, ys):
        deg, n = np.array(x[::2]), np.array(y[::2])  # the steps' left edges and heights
        assert int((deg * n).sum()) == c.n_synapses
        assert int(n.sum()) == 100


def test_a_model_with_more_projections_rebuilds_without_the_weights_panel_failing(app):
    """Found by the lessons: loading a model with more projections than the one before made
    the Weights tab read projection i from the old network (IndexError) while rebuilding."""
    state = app.state
    state.set_spec(from_dict(single_neuron()))
    state.set_spec(from_dict(rules_side_by_side()))
    assert len(state.sim.network.connectome.connections) == 5


def test_the_lesson_notebooks_are_the_lessons():
    spec = importlib.util.spec_from_file_location("make_lessons", ROOT / "notebooks" / "make_lessons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.rendered().items():
        path = ROOT / "notebooks" / name
        assert path.exists(), f"{name}: run python notebooks/make_lessons.py"
        assert path.read_text(encoding="utf-8") == text, f"{name} differs from its lesson: run make_lessons.py"
