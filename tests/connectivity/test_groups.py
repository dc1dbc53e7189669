"""Group edits: a group of projections changed at once (all inhibitory weights x g)."""
import numpy as np
import pytest

from sim_core.connectivity.values import draw_array
from sim_core.errors import SpecError
from sim_core.models.registry import preset_dict
from sim_core.spec import from_dict, to_plain
from sim_core.connectivity.groups import ANY, scale_group, select


def brunel(g=5.0):
    return from_dict(preset_dict("brunel", 0.1, g=g))


def test_inhibitory_weights_times_factor_is_brunels_g():
    """Brunel's g is the ratio of inhibitory to excitatory weight: scaling the inhibitory
    group by 4/5 gives the preset built with g = 4, projection for projection."""
    scaled, chosen = scale_group(brunel(5.0), "inhibitory weights", 4.0 / 5.0)
    assert [brunel().projections[i].source for i in chosen] == ["I", "I"]
    want = brunel(4.0)
    for a, b in zip(scaled.projections, want.projections):
        assert a.synapse.weight == pytest.approx(b.synapse.weight, rel=1e-12)
    from_dict(to_plain(scaled))  # still a valid spec


def test_groups_select_by_sign_source_and_target():
    spec = brunel()
    assert select(spec, "excitatory weights") == [0, 1, 4, 5]
    assert select(spec, "all weights", source="E") == [0, 1]
    assert select(spec, "all delays", target="I") == [1, 3, 5]
    assert select(spec, "inhibitory weights", source=ANY, target="E") == [2]


def test_a_distribution_is_scaled_draw_for_draw():
    data = preset_dict("microcircuit", 0.02)
    spec = from_dict(data)
    i = next(k for k, p in enumerate(spec.projections) if not isinstance(p.synapse.weight, float))
    scaled, chosen = scale_group(spec, "all weights", 1.5)
    assert i in chosen
    a = draw_array(spec.projections[i].synapse.weight, 1000, 7, 3, "w")
    b = draw_array(scaled.projections[i].synapse.weight, 1000, 7, 3, "w")
    np.testing.assert_allclose(b, 1.5 * a, rtol=1e-12)


def test_bad_group_edits_name_the_field():
    with pytest.raises(SpecError, match="factor"):
        scale_group(brunel(), "inhibitory weights", -2.0)
    with pytest.raises(SpecError, match="group.*no inhibitory weights from ext"):
        scale_group(brunel(), "inhibitory weights", 2.0, source="ext")
    with pytest.raises(SpecError, match="group.*'weights' is not a group"):
        scale_group(brunel(), "weights", 2.0)


def test_the_editors_group_edit_is_one_undoable_change():
    from widgets.editor import NetworkEditor
    from widgets.state import SimulationState
    state = SimulationState(brunel())
    try:
        editor = NetworkEditor(state=state)
        editor.group.value, editor.group_factor.value = "inhibitory weights", 0.8
        editor.scale_group()
        assert "in 2 projections (applied live)" in state.message
        assert state.spec.projections[2].synapse.weight == pytest.approx(brunel(4.0).projections[2].synapse.weight)
        state.undo()
        assert state.spec == brunel()
        editor.group_factor.value = 0.0
        editor.scale_group()
        assert editor.error.visible and "factor" in editor.error.object
    finally:
        state.close()


def test_every_editor_field_has_a_tooltip_from_the_declarations():
    """Every field of every form carries its documentation (and unit) as a tooltip."""
    from sim_core.spec.declarations import DEVICE_MODELS, NEURON_MODELS
    from widgets.editor import NetworkEditor
    from widgets.state import SimulationState
    state = SimulationState(brunel())
    try:
        editor = NetworkEditor(state=state)
        seen = 0
        for kind, models in (("population", NEURON_MODELS), ("input", DEVICE_MODELS), ("projection", {None: 0})):
            editor.kind_select.value = kind
            for model in models:
                if model is not None:
                    editor.fields["model"].value = model
                for rule in (["all_to_all", "pairwise_bernoulli", "fixed_indegree"] if kind == "projection" else [None]):
                    if rule:
                        editor.fields["rule.rule"].value = rule
                    for key, w in editor.fields.items():
                        assert w.description, f"{kind} {model} {key}: no tooltip"
                        seen += 1
        assert editor.fields["synapse.delay"].description.endswith("(ms)")
        editor.kind_select.value = "population"
        assert "(mV)" in editor.fields["params.V_th"].description
        assert seen > 60
    finally:
        state.close()
