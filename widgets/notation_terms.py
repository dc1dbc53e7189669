"""The spec in the notation's terms: what each population and projection is, and the text written.

Part of ``widgets.notation``. Signs come from receptors or mean weights (populations from
their outgoing projections); recorders become nodes of their own; rules and weights are
written in the symbols of Senk et al. (2022). Nothing here knows about coordinates except
the text metrics, which size labels before any browser measures them.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from sim_core.spec.model import (AllToAll, ExponentialP, FixedIndegree, FixedOutdegree,
                                 FixedTotalNumber, GaussianP, LinearDelay, Lognormal,
                                 NetworkSpec, Normal, OneToOne, PairwiseBernoulli, Uniform)
from sim_core.spec.model import Exponential as ExponentialDist

ANNOTATION_PX = 11.0
CHAR_EM = 0.58               # average advance of a character, in em (Helvetica digits: 0.556)

PROBABILISTIC = (PairwiseBernoulli, FixedIndegree, FixedOutdegree, FixedTotalNumber)


def as_spec(spec) -> NetworkSpec:
    """``spec`` itself, or the NetworkSpec parsed from a plain spec dict."""
    if isinstance(spec, NetworkSpec):
        return spec
    if isinstance(spec, Mapping):
        from sim_core.spec import from_dict
        return from_dict(spec)
    raise TypeError(f"expected a NetworkSpec or a spec dict, got {type(spec).__name__}")


# ------------------------------------------------------------------ signs and kinds
def _mean(value) -> float:
    """Mean of a weight (number or distribution of offset + scale * X), honouring the
    low/high redraw bounds: exact for normal and uniform, from a fixed sample otherwise."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Uniform):  # low/high are its range, not redraw bounds
        return value.offset + value.scale * 0.5 * (value.low + value.high)
    low = -math.inf if value.low is None else value.low
    high = math.inf if value.high is None else value.high
    if isinstance(value, Normal):
        mu, sigma = value.offset + value.scale * value.mean, abs(value.scale) * value.std
        if sigma == 0.0 or (low == -math.inf and high == math.inf):
            return min(max(mu, low), high)
        a, b = (low - mu) / sigma, (high - mu) / sigma
        mass = _cdf(b) - _cdf(a)
        return mu + sigma * (_pdf(a) - _pdf(b)) / mass if mass > 0 else min(max(mu, low), high)
    if isinstance(value, Lognormal):
        exact = math.exp(value.mu + 0.5 * value.sigma ** 2)
    elif isinstance(value, ExponentialDist):
        exact = value.beta
    else:
        raise TypeError(f"not a weight: {value!r}")
    if low == -math.inf and high == math.inf:
        return value.offset + value.scale * exact
    rng = np.random.default_rng(0)
    x = rng.lognormal(value.mu, value.sigma, 20000) if isinstance(value, Lognormal) \
        else rng.exponential(value.beta, 20000)
    y = value.offset + value.scale * x
    y = y[(y >= low) & (y <= high)]
    return float(y.mean()) if len(y) else min(max(value.offset + value.scale * exact, low), high)


def _pdf(z: float) -> float:
    return 0.0 if math.isinf(z) else math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2)))


def synapse_sign(synapse) -> str:
    """'excitatory' or 'inhibitory': the receptor if given, else the sign of the mean weight."""
    if synapse.receptor is not None:
        return synapse.receptor
    return "inhibitory" if _mean(synapse.weight) < 0.0 else "excitatory"


def population_kinds(spec: NetworkSpec) -> dict[str, str]:
    """'excitatory' or 'inhibitory' for every population.

    By the sign of the mean weight of its outgoing projections; a population without
    any is inhibitory when its name starts with "I" or contains "inh", else excitatory.
    """
    weights: dict[str, list[float]] = {name: [] for name in spec.populations}
    for proj in spec.projections:
        if proj.source in weights:
            w = abs(_mean(proj.synapse.weight))
            weights[proj.source].append(-w if synapse_sign(proj.synapse) == "inhibitory" else w)
    kinds = {}
    for name, ws in weights.items():
        if ws and sum(ws) != 0.0:
            kinds[name] = "inhibitory" if sum(ws) < 0.0 else "excitatory"
        else:
            by_name = name.startswith("I") or "inh" in name.lower()
            kinds[name] = "inhibitory" if by_name else "excitatory"
    return kinds


def recorder_nodes(spec: NetworkSpec) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Recorder node name -> (kind, recorded populations); names avoid the spec's names."""
    taken = set(spec.populations) | set(spec.inputs)

    def free(name):
        while name in taken:
            name = "rec_" + name
        taken.add(name)
        return name

    out = {}
    spikes = spec.recorders.spikes
    pops = tuple(spec.populations) if spikes == "all" else tuple(spikes)
    if pops:
        out[free("spike_recorder")] = ("spikes", pops)
    if spec.recorders.voltmeter is not None:
        out[free("voltmeter")] = ("voltmeter", tuple(spec.recorders.voltmeter.populations))
    return out


# ------------------------------------------------------------------ annotations
def _num(x: float) -> str:
    x = float(x)
    if x.is_integer() and abs(x) < 1e9:
        return str(int(x))
    return f"{x:.0f}" if abs(x) >= 1e4 else f"{x:.4g}"


def _dist_text(value) -> str:
    if isinstance(value, Normal):
        core = f"N({_num(value.mean)}, {_num(value.std)})"
    elif isinstance(value, Lognormal):
        core = f"LN({_num(value.mu)}, {_num(value.sigma)})"
    elif isinstance(value, Uniform):
        core = f"U({_num(value.low)}, {_num(value.high)})"
    else:
        core = f"Exp({_num(value.beta)})"
    if value.scale != 1.0:
        core = f"{_num(value.scale)}·{core}"
    if value.offset != 0.0:
        core = f"{core} + {_num(value.offset)}"
    return core


def _rule_text(rule) -> str:
    if isinstance(rule, OneToOne):
        return "δ"
    if isinstance(rule, AllToAll):
        return "Ω"
    if isinstance(rule, PairwiseBernoulli):
        if isinstance(rule.p, (GaussianP, ExponentialP)):
            text = "p(r)"
            if rule.mask is not None:
                text += f", r≤{_num(rule.mask.circular.radius)}"
            return text
        return f"p={_num(rule.p)}"
    if isinstance(rule, FixedIndegree):
        return f"K_in={rule.indegree}"
    if isinstance(rule, FixedOutdegree):
        return f"K_out={rule.outdegree}"
    return f"N_syn={rule.N}"


def _weight_text(synapse) -> str:
    w = synapse.weight
    text = f"w̄={_num(w)}" if isinstance(w, (int, float)) else f"w ~ {_dist_text(w)}"
    if isinstance(synapse.delay, LinearDelay):
        text += ", d(r)"
    return text


def annotation_lines(proj) -> list[list[tuple[str, str]]]:
    """Lines of (text, tspan class) runs; class '' is plain text."""
    first = [(_rule_text(proj.rule), "")]
    if not proj.rule.allow_autapses:
        first += [(" ", ""), ("A", "no-autapses")]
    if not proj.rule.allow_multapses:
        first += [(" ", ""), ("M", "no-multapses")]
    second = [(_weight_text(proj.synapse), "")]
    if sum(len(t) for t, _ in first + second) <= 18:
        return [first + [(", ", "")] + second]
    return [first, second]


def edge_title(proj, index: int) -> str:
    rule = type(proj.rule).TAG[1]
    syn = proj.synapse
    weight = _num(syn.weight) if isinstance(syn.weight, (int, float)) else _dist_text(syn.weight)
    d = syn.delay
    if isinstance(d, LinearDelay):
        delay = f"{_num(d.offset)} + r/{_num(d.velocity)}"
    else:
        delay = _num(d) if isinstance(d, (int, float)) else _dist_text(d)
    extra = f", {syn.resolution.levels} weight levels ({syn.resolution.method})" if syn.resolution else ""
    return (f"projections[{index}]: {proj.source} → {proj.target}, {rule} "
            f"{_rule_text(proj.rule)}; weight {weight}; delay {delay} ms{extra}")


def mean_weight(synapse) -> float:
    """Mean weight of a synapse spec (its distribution's mean within the redraw bounds)."""
    return _mean(synapse.weight)
