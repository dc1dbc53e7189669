"""The spec ``spikescope/1`` as frozen dataclasses (see ../shared/design/SPEC.md).

The dataclasses are the declaration: the parser (``parse.py``) and the JSON Schema
(``schema.py``) are both derived from the field types and the ``meta`` below, so the
format is written down exactly once. Tagged unions (distributions, rules, spatial
profiles) carry their tag in ``TAG = (key, value)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Literal, Mapping, Optional, Union

FORMAT = "spikescope/1"
NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
POP_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"


def meta(doc: str = "", unit: str = "", **constraints) -> dict:
    """Field metadata: documentation, unit and numeric bounds (gt, ge, le, lt, pattern)."""
    return {"doc": doc, "unit": unit, **constraints}


def _empty() -> Mapping:
    return MappingProxyType({})


# ----------------------------------------------------------------- distributions
@dataclass(frozen=True)
class Normal:
    TAG: ClassVar = ("dist", "normal")
    mean: float = field(metadata=meta("mean"))
    std: float = field(metadata=meta("standard deviation", ge=0.0))
    low: Optional[float] = field(default=None, metadata=meta("redraw draws below this"))
    high: Optional[float] = field(default=None, metadata=meta("redraw draws above this"))
    scale: float = field(default=1.0, metadata=meta("value = offset + scale * X"))
    offset: float = field(default=0.0, metadata=meta("value = offset + scale * X"))


@dataclass(frozen=True)
class Lognormal:
    TAG: ClassVar = ("dist", "lognormal")
    mu: float = field(metadata=meta("mean of the underlying normal"))
    sigma: float = field(metadata=meta("std of the underlying normal", ge=0.0))
    low: Optional[float] = field(default=None, metadata=meta("redraw draws below this"))
    high: Optional[float] = field(default=None, metadata=meta("redraw draws above this"))
    scale: float = field(default=1.0, metadata=meta("value = offset + scale * X"))
    offset: float = field(default=0.0, metadata=meta("value = offset + scale * X"))


@dataclass(frozen=True)
class Uniform:
    TAG: ClassVar = ("dist", "uniform")
    low: float = field(metadata=meta("lower end"))
    high: float = field(metadata=meta("upper end"))
    scale: float = field(default=1.0, metadata=meta("value = offset + scale * X"))
    offset: float = field(default=0.0, metadata=meta("value = offset + scale * X"))


@dataclass(frozen=True)
class Exponential:
    TAG: ClassVar = ("dist", "exponential")
    beta: float = field(metadata=meta("scale (mean)", gt=0.0))
    low: Optional[float] = field(default=None, metadata=meta("redraw draws below this"))
    high: Optional[float] = field(default=None, metadata=meta("redraw draws above this"))
    scale: float = field(default=1.0, metadata=meta("value = offset + scale * X"))
    offset: float = field(default=0.0, metadata=meta("value = offset + scale * X"))


Distribution = Union[Normal, Lognormal, Uniform, Exponential]
Value = Union[float, Normal, Lognormal, Uniform, Exponential]
# neuron parameters may also be flags (iaf_psc_delta's refractory_input)
NeuronParam = Union[float, bool, Normal, Lognormal, Uniform, Exponential]


# ------------------------------------------------------------------ spatial
@dataclass(frozen=True)
class GaussianP:
    TAG: ClassVar = ("spatial", "gaussian")
    p_center: float = field(metadata=meta("probability at distance 0", ge=0.0, le=1.0))
    sigma: float = field(metadata=meta("width", unit="mm", gt=0.0))


@dataclass(frozen=True)
class ExponentialP:
    TAG: ClassVar = ("spatial", "exponential")
    p_center: float = field(metadata=meta("probability at distance 0", ge=0.0, le=1.0))
    beta: float = field(metadata=meta("decay length", unit="mm", gt=0.0))


@dataclass(frozen=True)
class LinearDelay:
    TAG: ClassVar = ("spatial", "linear")
    offset: float = field(metadata=meta("delay at distance 0", unit="ms", ge=0.0))
    velocity: float = field(metadata=meta("conduction velocity", unit="mm/ms", gt=0.0))


@dataclass(frozen=True)
class CircularMask:
    radius: float = field(metadata=meta("radius", unit="mm", gt=0.0))


@dataclass(frozen=True)
class Mask:
    circular: CircularMask = field(metadata=meta("connect only within this radius"))


@dataclass(frozen=True)
class Positions:
    kind: Literal["random", "grid"] = field(metadata=meta("random: uniform on the sheet; grid: NEST grid"))
    extent: tuple[float, ...] = field(default=(1.0, 1.0), metadata=meta("sheet size, centred on 0", unit="mm"))
    shape: Optional[tuple[int, ...]] = field(default=None, metadata=meta("grid columns, rows"))
    periodic: bool = field(default=False, metadata=meta("wrap edges (distances on the torus)"))


# ------------------------------------------------------------------ nodes
@dataclass(frozen=True)
class Population:
    model: str = field(metadata=meta("neuron model"))
    size: int = field(metadata=meta("number of neurons", ge=1))
    params: Mapping[str, NeuronParam] = field(default_factory=_empty, metadata=meta("NEST parameters"))
    initial: Mapping[str, Value] = field(default_factory=_empty, metadata=meta("initial state"))
    positions: Optional[Positions] = field(default=None, metadata=meta("makes the population spatial"))


ParamValue = Union[float, bool, tuple[float, ...], None]


@dataclass(frozen=True)
class Input:
    model: str = field(metadata=meta("device model"))
    params: Mapping[str, ParamValue] = field(default_factory=_empty, metadata=meta("device parameters"))


# ------------------------------------------------------------------ rules
@dataclass(frozen=True)
class OneToOne:
    TAG: ClassVar = ("rule", "one_to_one")
    allow_autapses: bool = field(default=True, metadata=meta("allow i -> i within one population"))
    allow_multapses: bool = field(default=True, metadata=meta("allow repeated pairs"))


@dataclass(frozen=True)
class AllToAll:
    TAG: ClassVar = ("rule", "all_to_all")
    allow_autapses: bool = field(default=True, metadata=meta("allow i -> i within one population"))
    allow_multapses: bool = field(default=True, metadata=meta("allow repeated pairs"))


@dataclass(frozen=True)
class PairwiseBernoulli:
    TAG: ClassVar = ("rule", "pairwise_bernoulli")
    p: Union[float, GaussianP, ExponentialP] = field(metadata=meta("connection probability", ge=0.0, le=1.0))
    mask: Optional[Mask] = field(default=None, metadata=meta("spatial mask"))
    allow_autapses: bool = field(default=True, metadata=meta("allow i -> i within one population"))
    allow_multapses: bool = field(default=True, metadata=meta("allow repeated pairs"))


@dataclass(frozen=True)
class FixedIndegree:
    TAG: ClassVar = ("rule", "fixed_indegree")
    indegree: int = field(metadata=meta("sources per target", ge=0))
    allow_autapses: bool = field(default=True, metadata=meta("allow i -> i within one population"))
    allow_multapses: bool = field(default=True, metadata=meta("allow repeated pairs"))


@dataclass(frozen=True)
class FixedOutdegree:
    TAG: ClassVar = ("rule", "fixed_outdegree")
    outdegree: int = field(metadata=meta("targets per source", ge=0))
    allow_autapses: bool = field(default=True, metadata=meta("allow i -> i within one population"))
    allow_multapses: bool = field(default=True, metadata=meta("allow repeated pairs"))


@dataclass(frozen=True)
class FixedTotalNumber:
    TAG: ClassVar = ("rule", "fixed_total_number")
    N: int = field(metadata=meta("total number of connections", ge=0))
    allow_autapses: bool = field(default=True, metadata=meta("allow i -> i within one population"))
    allow_multapses: bool = field(default=True, metadata=meta("allow repeated pairs"))


Rule = Union[OneToOne, AllToAll, PairwiseBernoulli, FixedIndegree, FixedOutdegree, FixedTotalNumber]
RULES = {cls.TAG[1]: cls for cls in Rule.__args__}


@dataclass(frozen=True)
class Resolution:
    levels: int = field(metadata=meta("number of discrete weight values", ge=2, le=256))
    method: Literal["mean_variance", "naive", "mean"] = field(
        default="mean_variance", metadata=meta("discretization method"))


@dataclass(frozen=True)
class Synapse:
    weight: Value = field(metadata=meta("pA (mV for iaf_psc_delta, nS for iaf_cond_exp)"))
    delay: Union[float, Normal, Lognormal, Uniform, Exponential, LinearDelay] = field(
        default=1.0, metadata=meta("rounded to the dt grid, >= dt", unit="ms"))
    model: Literal["static_synapse", "stdp_synapse"] = field(default="static_synapse", metadata=meta(
        "synapse model; stdp_synapse: NEST's (Guetig et al. 2003), the weights change"))
    params: Mapping[str, float] = field(default_factory=_empty, metadata=meta(
        "synapse model parameters (stdp_synapse: tau_plus, lambda, alpha, mu_plus, mu_minus, Wmax)"))
    receptor: Optional[Literal["excitatory", "inhibitory"]] = field(
        default=None, metadata=meta("default: from the sign of the mean weight"))
    resolution: Optional[Resolution] = field(default=None, metadata=meta("limited weight resolution"))


@dataclass(frozen=True)
class Rewiring:
    """Structural plasticity after Bamford et al. (2010) as in Knight & Senk et al. (GeNN):
    every ``interval`` ms, ``attempts`` times a source row and a target are drawn at random;
    an existing synapse between them is removed with ``p_elim_below`` when its weight is
    below ``threshold`` (``p_elim_above`` otherwise); a missing one is formed, at weight
    ``weight``, with the rule's distance-dependent probability p(d), if the row has room."""
    interval: float = field(default=1.0, metadata=meta("time between rewiring events", unit="ms", gt=0.0))
    attempts: int = field(default=10, metadata=meta("rewiring attempts per event", ge=1))
    capacity: int = field(default=64, metadata=meta("synapses per source row at most", ge=1))
    threshold: float = field(default=0.0, metadata=meta("weight below which p_elim_below applies"))
    p_elim_below: float = field(default=1.0, metadata=meta("elimination probability of a weak synapse",
                                                            ge=0.0, le=1.0))
    p_elim_above: float = field(default=0.0, metadata=meta("elimination probability of a strong synapse",
                                                            ge=0.0, le=1.0))
    weight: Optional[float] = field(default=None, metadata=meta(
        "weight of a new synapse (default: the synapse's weight)"))


@dataclass(frozen=True)
class Projection:
    source: str = field(metadata=meta("population or input"))
    target: str = field(metadata=meta("population"))
    rule: Rule = field(metadata=meta("connection rule"))
    synapse: Synapse = field(metadata=meta("synapse"))
    rewiring: Optional[Rewiring] = field(default=None, metadata=meta(
        "structural plasticity: synapses formed and removed while it runs"))

    @property
    def plastic(self) -> bool:
        """Its weights change (STDP) or its synapses do (rewiring): it runs in the plastic
        rows of the CPU backend (``backends.plastic``), not with the static synapses."""
        return self.synapse.model != "static_synapse" or self.rewiring is not None


@dataclass(frozen=True)
class Voltmeter:
    populations: tuple[str, ...] = field(metadata=meta("recorded populations"))
    n: int = field(default=1, metadata=meta("neurons recorded per population (the first n)", ge=1))
    interval: float = field(default=1.0, metadata=meta("sampling interval", unit="ms", gt=0.0))


@dataclass(frozen=True)
class WeightRecorder:
    projections: tuple[int, ...] = field(metadata=meta("indices of the recorded projections"))
    interval: float = field(default=100.0, metadata=meta("time between snapshots", unit="ms", gt=0.0))


@dataclass(frozen=True)
class Electrodes:
    grid: tuple[int, ...] = field(default=(10, 10), metadata=meta("electrodes along x, y; the grid is centred on [0, 0]"))
    pitch: float = field(default=0.4, metadata=meta("distance between neighbouring electrodes", unit="mm", gt=0.0))
    depth: float = field(default=-0.4, metadata=meta("depth below the cortical surface (negative down)", unit="mm",
                                                     le=0.0))


@dataclass(frozen=True)
class LfpRecorder:
    method: Literal["kernel", "proxy"] = field(default="kernel", metadata=meta(
        "kernel: population kernels (Hagen et al. 2022); proxy: weighted sum of synaptic currents "
        "(Mazzoni et al. 2015)"))
    electrodes: Electrodes = field(default_factory=Electrodes, metadata=meta("the electrode grid"))
    interval: float = field(default=0.5, metadata=meta("time between samples", unit="ms", gt=0.0))


@dataclass(frozen=True)
class Recorders:
    spikes: Union[Literal["all"], tuple[str, ...]] = field(
        default="all", metadata=meta("'all' or a list of population names"))
    voltmeter: Optional[Voltmeter] = field(default=None, metadata=meta("membrane potential recording"))
    weights: Optional[WeightRecorder] = field(default=None, metadata=meta(
        "weight snapshots of projections (DIR/weights.h5)"))
    lfp: Optional[LfpRecorder] = field(default=None, metadata=meta(
        "local field potential on an electrode grid (DIR/lfp.h5)"))


@dataclass(frozen=True)
class NetworkSpec:
    format: Literal["spikescope/1"] = field(metadata=meta("format version"))
    name: str = field(metadata=meta("model name", pattern=NAME_PATTERN))
    populations: Mapping[str, Population] = field(metadata=meta("neuron populations", min_items=1))
    description: str = field(default="", metadata=meta("free text"))
    dt: float = field(default=0.1, metadata=meta("time step", unit="ms", gt=0.0))
    seed: int = field(default=0, metadata=meta("runs with the same seed and backend are identical", ge=0))
    inputs: Mapping[str, Input] = field(default_factory=_empty, metadata=meta("stimulating devices"))
    projections: tuple[Projection, ...] = field(default=(), metadata=meta("connections"))
    recorders: Recorders = field(default_factory=Recorders, metadata=meta("what is recorded"))

    # ---- conveniences used throughout the engine
    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations.values())

    def node_size(self, name: str) -> int:
        """Size of a population, or 1 for an input (a device is one node, as in NEST)."""
        return self.populations[name].size if name in self.populations else 1
