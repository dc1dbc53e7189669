"""The lessons: short sequences of steps that load a model, ask the student to change one
thing and explain what they see. One source for the app's lesson panel
(``widgets/lessons.py``) and the lesson notebooks (``notebooks/make_lessons.py`` writes
them from the same steps: the text, and each step's ``code`` as the notebook's cell).

No Panel here: the notebooks' generator and tests import it without a server.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

from sim_core.models.brunel import derived
from sim_core.models.lessons import rules_side_by_side, single_neuron
from sim_core.models.registry import preset_dict
from sim_core.spec import from_dict, to_plain


@dataclass(frozen=True)
class Step:
    title: str
    text: str  # Markdown: what to look at and why
    task: str = ""  # Markdown: the one thing the student changes ('' when only to watch)
    enter: Callable | None = None  # state -> None, done when the step opens (loads its model)
    show: Callable | None = None  # state -> None, "Show me": the change the task asks for
    done: Callable | None = None  # spec -> bool: the task has been done
    view: str = ""  # the panel's plot: 'fi', 'degrees', 'scan' or none
    code: str = ""  # the notebook's cell for this step


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    summary: str
    setup: str  # the notebook's first cell
    steps: tuple[Step, ...] = field(default_factory=tuple)


def load(data: dict) -> Callable:
    def enter(state):
        state.set_spec(from_dict(data))
    return enter


def edit(change: Callable[[dict], None]) -> Callable:
    """An action that changes the state's spec as plain data (validated like any edit)."""
    def act(state):
        data = copy.deepcopy(to_plain(state.spec))
        change(data)
        state.set_spec(from_dict(data))
    return act


def _param(section: str, name: str, **values) -> Callable[[dict], None]:
    def change(data):
        data[section][name].setdefault("params", {}).update(values)
    return change


def _neuron(spec, key):
    return spec.populations["neuron"].params.get(key) if "neuron" in spec.populations else None


SETUP = """import sys, pathlib
sys.path.insert(0, str(pathlib.Path.cwd().parent))  # run from notebooks/ in a checkout
import numpy as np
import matplotlib.pyplot as plt
from sim_core.engine.simulation import Simulation
from sim_core.spec import from_dict
"""

# ---------------------------------------------------------------------- the f-I curve
FI = Lesson(
    "fi", "A neuron's f–I curve",
    "One integrate-and-fire neuron under a constant current: below the rheobase it never fires, "
    "above it the rate grows with the current and saturates at 1/t_ref.",
    SETUP + "from sim_core.models.lessons import single_neuron, fi_sweep\n"
            "from sim_core.analysis.fi import lif_rate, regular_rate, rheobase\n",
    (
        Step("One neuron, a constant current",
             "A leaky integrate-and-fire neuron (`iaf_psc_exp`, NEST's defaults: C_m = 250 pF, "
             "τ_m = 10 ms, E_L = −70 mV, V_th = −55 mV, t_ref = 2 ms) receives a constant current "
             "I_e = 300 pA. Press **Run**: the membrane potential rises towards E_L + R·I_e = −58 mV "
             "(R = τ_m/C_m) and stays below threshold. No spikes: the smallest current that makes it "
             "fire, the *rheobase*, is C_m (V_th − E_L)/τ_m = 375 pA. The plot below shows the curve "
             "that theory predicts.",
             enter=load(single_neuron(300.0)), view="fi",
             code="sim = Simulation(from_dict(single_neuron(I_e=300.0)), seed=1)\n"
                  "sim.run(200.0)\n"
                  "t, v = sim.voltages.data()\n"
                  "print(f'{len(sim.spikes(\"neuron\")[0])} spikes; V_m reaches {v.max():.2f} mV; "
                  "rheobase {rheobase():.0f} pA')\n"
                  "plt.plot(t, v[:, 0]); plt.xlabel('time (ms)'); plt.ylabel('V_m (mV)');"),
        Step("Cross the threshold",
             "Above the rheobase the neuron fires regularly: from V_reset it needs "
             "T = τ_m ln(R I/(R I − (V_th − E_L))) to reach threshold, then stays refractory for t_ref. "
             "Its rate is 1/(t_ref + T). The measured point appears on the plot once a few spikes "
             "have been seen.",
             task="In **Edit → population → neuron**, set **I_e** to **400** pA and press **Apply** "
                  "(keep it running).",
             show=edit(_param("populations", "neuron", I_e=400.0)),
             done=lambda spec: (_neuron(spec, "I_e") or 0) >= 400.0, view="fi",
             code="sim = Simulation(from_dict(single_neuron(I_e=400.0)), seed=1)\n"
                  "sim.run(1000.0)\n"
                  "print(f'measured {regular_rate(sim.spikes(\"neuron\")[0]):.3f} spikes/s; '\n"
                  "      f'theory {lif_rate(400.0)[0]:.3f}, on the 0.1 ms grid {lif_rate(400.0, dt=0.1)[0]:.3f}')"),
        Step("The whole curve",
             "Each current gives one point. The measured rates sit exactly on the dots, not on the "
             "line: the neuron is integrated exactly, but, as in NEST, the threshold is checked at the "
             "end of each 0.1 ms step, so the time to threshold is rounded up to the step grid.",
             task="Try **I_e** = 500, 800 and 1500 pA (Apply after each).",
             show=edit(_param("populations", "neuron", I_e=800.0)),
             done=lambda spec: (_neuron(spec, "I_e") or 0) >= 800.0, view="fi",
             code="currents = np.arange(300.0, 2001.0, 50.0)\n"
                  "sim = Simulation(from_dict(fi_sweep(currents)), seed=1)\n"
                  "sim.run(1000.0)\n"
                  "measured = [regular_rate(sim.spikes(f'I{k}')[0]) or 0.0 for k in range(len(currents))]\n"
                  "fine = np.linspace(300.0, 2000.0, 400)\n"
                  "plt.plot(fine, lif_rate(fine), label='theory (continuous time)')\n"
                  "plt.plot(currents, lif_rate(currents, dt=0.1), 'o', mfc='none', label='theory on the 0.1 ms grid')\n"
                  "plt.plot(currents, measured, 'k.', label='measured')\n"
                  "plt.xlabel('I_e (pA)'); plt.ylabel('rate (spikes/s)'); plt.legend();\n"
                  "print('largest difference from the grid theory:', "
                  "np.max(np.abs(np.array(measured) - lif_rate(currents, dt=0.1))), 'spikes/s')"),
        Step("The refractory period caps the rate",
             "However strong the current, the neuron cannot fire faster than once per t_ref: the curve "
             "bends over towards 1/t_ref. A longer refractory period lowers the whole curve at high "
             "currents and hardly changes it near the rheobase.",
             task="Set **t_ref** to **10** ms and **I_e** to **1500** pA: the rate stays below 100 spikes/s.",
             show=edit(_param("populations", "neuron", t_ref=10.0, I_e=1500.0)),
             done=lambda spec: (_neuron(spec, "t_ref") or 2.0) >= 10.0, view="fi",
             code="for t_ref in (2.0, 10.0):\n"
                  "    sim = Simulation(from_dict(single_neuron(I_e=1500.0, t_ref=t_ref)), seed=1)\n"
                  "    sim.run(1000.0)\n"
                  "    print(f't_ref {t_ref:g} ms: {regular_rate(sim.spikes(\"neuron\")[0]):.1f} spikes/s '\n"
                  "          f'(1/t_ref = {1000 / t_ref:.0f})')"),
    ))

# ---------------------------------------------------------------------- Brunel's regimes
BRUNEL_SCALE = 0.1  # 1,000 E + 250 I neurons: several times faster than real time on 2 cores


def _brunel(g=5.0, eta=2.0):
    return preset_dict("brunel", BRUNEL_SCALE, g=g, eta=eta)


def _scale_inhibitory(factor):
    def act(state):
        from sim_core.connectivity.groups import scale_group
        spec, _ = scale_group(state.spec, "inhibitory weights", factor)
        state.set_spec(spec)
    return act


def _g(spec) -> float:
    w = [p.synapse.weight for p in spec.projections if p.source in ("E", "I") and isinstance(p.synapse.weight, float)]
    return -min(w) / max(w) if w and max(w) > 0 else float("nan")


def _eta(spec) -> float:
    ext = spec.inputs.get("ext")
    return ext.params["rate"] / derived()["p_rate"] * 2.0 if ext is not None else float("nan")


BRUNEL = Lesson(
    "brunel", "Brunel's network: its regimes",
    "A sparse network of excitatory and inhibitory neurons (Brunel 2000). Two numbers decide how it "
    "behaves: g, how much stronger inhibitory synapses are, and η, the external input relative to "
    "what brings a neuron to threshold.",
    SETUP + "from sim_core.models.registry import preset_dict\n"
            "from sim_core.analysis.stats import window_statistics\n\n"
            f"SCALE = {BRUNEL_SCALE}\n\n"
            "def regime(g, eta, t=1000.0):\n"
            "    sim = Simulation(from_dict(preset_dict('brunel', SCALE, g=g, eta=eta)), seed=1)\n"
            "    sim.run(t)\n"
            "    times, ids = sim.spikes('E')\n"
            "    s = window_statistics(times, ids, sim.spec.populations['E'].size, 300.0, t)\n"
            "    print(f'g = {g}, eta = {eta}: {s[\"rate_hz\"]:.1f} spikes/s, CV ISI {s[\"cv_isi\"]:.2f}, '\n"
            "          f'synchrony {s[\"synchrony\"]:.1f}')\n"
            "    keep = (ids < 50) & (times > t - 200.0)\n"
            "    plt.figure(figsize=(8, 2)); plt.plot(times[keep], ids[keep], 'k.', ms=2)\n"
            "    plt.title(f'g = {g}, eta = {eta}'); plt.xlabel('time (ms)'); plt.ylabel('neuron')\n"
            "    return s\n",
    (
        Step("NEST's example: fast and synchronous",
             "The preset is NEST's `brunel_alpha_nest.py` (g = 5, η = 2; alpha-shaped synaptic currents). "
             "Press **Run** and read the numbers under the status line: the mean rate, the CV of the "
             "inter-spike intervals (1 for a Poisson train, 0 for a clock) and the synchrony (the Fano "
             "factor of the population count in 1 ms bins: 1 when neurons fire independently, larger when "
             "they fire together). Measured at this size (0.3–1 s): about 29 spikes/s, CV 0.2, synchrony "
             "about 30: with these fast synapses the point that Brunel (2000) found asynchronous with delta "
             "synapses still oscillates fast, and neurons fire fairly regularly.",
             enter=load(_brunel()),
             code="preset = regime(5.0, 2.0)"),
        Step("Synchronous regular (SR)",
             "With weaker inhibition, excitation wins: neurons fire at high rates (about 210 spikes/s), "
             "almost periodically (CV 0.03) and together. Watch the raster's stripes.",
             task="In **Edit a group of projections**, choose **inhibitory weights**, factor **0.6** and "
                  "press **Multiply** (g: 5 → 3).",
             show=_scale_inhibitory(0.6), done=lambda spec: _g(spec) < 3.5,
             code="sr = regime(3.0, 2.0)"),
        Step("Towards asynchronous irregular (AI)",
             "Stronger inhibition (g = 8) balances the excitation: rates fall to about 11 spikes/s, "
             "firing becomes irregular (CV about 0.45, twice the preset's): the direction of Brunel's AI "
             "state. The population still fires in loose waves at this small size (synchrony stays "
             "around 30–40): a larger, sparser network (scale 0.5 and up) is needed for it to fall.",
             task="This step reloads g = 5: multiply the **inhibitory weights** by **1.6** (g: 5 → 8).",
             enter=load(_brunel()),
             show=_scale_inhibitory(1.6), done=lambda spec: _g(spec) > 7.5,
             code="ai = regime(8.0, 2.0)"),
        Step("Synchronous irregular (SI), slow",
             "Strong inhibition and weak input (g = 4.5, η = 0.9): each neuron fires rarely (about 5 "
             "spikes/s) while the population fires in slow collective waves: the highest synchrony of the "
             "four (about 80) with a sixth of the preset's spikes. This step loads g = 4.5; you lower the input.",
             task="In **Edit → input → ext**, multiply **rate** by 0.45 (η: 2 → 0.9) and **Apply**.",
             enter=load(_brunel(g=4.5)),
             show=edit(lambda d: d["inputs"]["ext"]["params"].update(
                 rate=d["inputs"]["ext"]["params"]["rate"] * 0.45)),
             done=lambda spec: _eta(spec) < 1.2,
             code="si = regime(4.5, 0.9)"),
        Step("The phase diagram",
             "A scan runs the network at many (g, η) points at once (on Dask workers) and colours each "
             "by a measure: the regimes appear as regions. The scan uses Brunel's own setting (delta "
             "synapses, J = 0.5 mV so that J·C_E = 100 mV; 2,000 + 500 neurons), g ∈ {3, 4, 5, 6} × "
             "η ∈ {1, 2, 4}, 0.5 s per point. Measured (seed 7): at g = 3 every neuron fires at its "
             "refractory limit in step (about 330 spikes/s, CV ≤ 0.1, synchrony about 300: SR); from "
             "g = 5 on the network is asynchronous and irregular (CV about 1.1, synchrony about 20: AI). "
             "Click a cell to load that point and watch it run live.",
             task="Press **Show me**: the **Scan** tab sets up the phase diagram and runs it (about 10 s). "
                  "Choose the measure (rate, CV ISI, synchrony) and click a cell.",
             view="scan",
             code="from sim_core.scan.runner import scan\n"
                  "from sim_core.scan.phase import brunel_network, brunel_params\n"
                  "phase = from_dict(brunel_network())  # delta synapses, J = 0.5 mV as in Brunel (2000)\n"
                  "res = scan(phase, brunel_params(phase, g=(3.0, 5.0), eta=(1.0, 2.0)),\n"
                  "           t_sim=300.0, t_presim=100.0, workers=2)\n"
                  "res.frame()"),
    ))

# ---------------------------------------------------------------------- connection rules
RULES_LESSON = Lesson(
    "rules", "Connection rules side by side",
    "Four ways to draw random connections with the same expected number of synapses (1,000 between "
    "100 sources and 100 targets), and what each does to the targets' input and activity.",
    SETUP + "from sim_core.models.lessons import rules_side_by_side, RULE_TARGETS\n"
            "from sim_core.connectivity.build import build_connectome\n"
            "from sim_core.analysis.degrees import degrees, histogram\n"
            "from sim_core.analysis.stats import rates_hz\n",
    (
        Step("Same mean, different spread",
             "Source S projects onto four target populations, each with another rule: "
             "`pairwise_bernoulli` (each pair with p = 0.1), `fixed_indegree` (10 sources per target), "
             "`fixed_outdegree` (10 targets per source) and `fixed_total_number` (1,000 synapses drawn "
             "at random). The plot shows how many inputs each target neuron gets: exactly 10 with a "
             "fixed in-degree, spread around 10 with the others. The **Network** tab shows the rules "
             "in the notation.",
             enter=load(rules_side_by_side()), view="degrees",
             code="spec = from_dict(rules_side_by_side())\n"
                  "conns = {c.target: c for c in build_connectome(spec, spec.seed).connections if c.source == 'S'}\n"
                  "for name, c in conns.items():\n"
                  "    out_deg, in_deg = degrees(c.indptr, c.targets, spec.populations[name].size)\n"
                  "    k, n = histogram(in_deg)\n"
                  "    plt.step(k, n, where='mid', label=f'{RULE_TARGETS[name][\"rule\"]} (std {in_deg.std():.1f})')\n"
                  "plt.xlabel('in-degree'); plt.ylabel('target neurons'); plt.legend();"),
        Step("What the spread does",
             "Press **Run**. All four targets fire at about the same mean rate, but with a fixed "
             "in-degree every neuron gets the same input and fires at nearly the same rate; with the "
             "other rules, neurons with more inputs fire more. The raster shows it, and the plot gives "
             "the spread of the rates (std over neurons).",
             task="Run for a second or two and compare the rate spreads.", view="degrees",
             code="sim = Simulation(spec, seed=1)\n"
                  "sim.run(1000.0)\n"
                  "for name in conns:\n"
                  "    r = rates_hz(*sim.spikes(name), spec.populations[name].size, 200.0, 1000.0)\n"
                  "    print(f'{RULE_TARGETS[name][\"rule\"]:>20}: {r.mean():5.1f} spikes/s, std over neurons {r.std():4.1f}')"),
        Step("Change a rule's parameter",
             "A Bernoulli in-degree is binomial: mean N p and variance N p (1 − p). With p = 0.3 the "
             "targets get three times the input on average and its spread grows by √3 only; "
             "they fire much more.",
             task="In **Edit → projection**, choose **1: S → bernoulli**, set **p** to **0.3** and **Apply**.",
             show=edit(lambda d: d["projections"][1]["rule"].update(p=0.3)),
             done=lambda spec: len(spec.projections) > 1 and getattr(spec.projections[1].rule, "p", 0.1) >= 0.3,
             view="degrees",
             code="spec3 = from_dict(rules_side_by_side(bernoulli={'p': 0.3}))\n"
                  "c = next(c for c in build_connectome(spec3, spec3.seed).connections if c.target == 'bernoulli')\n"
                  "_, in_deg = degrees(c.indptr, c.targets, 100)\n"
                  "print(f'p = 0.3: in-degree mean {in_deg.mean():.1f} (N p = 30), std {in_deg.std():.2f} '\n"
                  "      f'(sqrt(N p (1-p)) = {np.sqrt(100 * 0.3 * 0.7):.2f})')"),
    ))

LESSONS = {lesson.key: lesson for lesson in (FI, BRUNEL, RULES_LESSON)}

INTRO = """**Welcome to SpikeScope.** Press **Run** above to simulate the model shown (a Brunel network):
the raster, rates and membrane potentials follow live; the line under the buttons gives the mean rate, the
irregularity (CV of inter-spike intervals) and the synchrony of the last half second.

- **Model** (below): a published model at any scale, or your own spec file. **Edit** changes a population,
  an input or a projection (hover a field's ⓘ for its meaning and unit); **Undo** takes any change back.
- **Network**: the model in the graphical notation of Senk et al. (2022); **Weights**: weight
  resolution; **Scan**: many runs at once, as a map.
- **Presentation** (top right) for a projector; the address bar keeps the preset, to share.

Or choose a **lesson** above: each loads a model, asks you to change one thing and explains what you see."""
