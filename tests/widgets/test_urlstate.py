"""The model in the address: ?preset=NAME&scale=X and ?spec=RUN_ID, read when a session
starts; anything wrong is a one-line notice and the default model."""
from sim_core.io.registry import Registry, record
from sim_core.spec import from_dict
from widgets.urlstate import from_query


def q(**kw):
    return {k: [str(v).encode()] for k, v in kw.items()}


def test_preset_and_scale_from_the_address():
    spec, notice, preset = from_query(q(preset="clustered", scale="0.1"))
    assert spec.n_neurons == 500 and preset == ("clustered", 0.1)
    assert notice == "loaded clustered (scale 0.1) from the address"
    assert from_query({}) == (None, "", None)


def test_bad_addresses_give_a_notice_and_no_model():
    for args, text in ((q(preset="nope"), "?preset=nope: not a preset; presets: brunel"),
                       (q(preset="brunel", scale="-1"), "?preset=brunel&scale=-1: scale must be > 0"),
                       (q(preset="brunel", scale="abc"), "?preset=brunel&scale=abc: could not convert"),
                       (q(preset="brunel", scale="0.01"), "?preset=brunel&scale=0.01: brunel: scale must be >= 0.1"),
                       (q(spec="12345"), "?spec=12345: 'no run 12345"),
                       (q(spec="x"), "?spec=x: invalid literal")):
        spec, notice, preset = from_query(args)
        assert spec is None and preset is None and notice.startswith(text), notice
        assert "\n" not in notice


def test_a_run_of_the_registry_from_the_address(shared_spec_path):
    from sim_core.spec import load
    spec = load(shared_spec_path)
    with record(spec, seed=1, backend="cpu", t_sim=10.0, kind="cli") as run:
        pass
    got, notice, preset = from_query(q(spec=run.id))
    assert got == spec and notice == f"loaded run #{run.id} from the registry" and preset is None
    assert Registry().get(run.id)["spec"]["name"] == spec.name
