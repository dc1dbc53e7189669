"""Per-projection weights: the distribution of the instantiated weights (histogram) and
the spec's weight-resolution control (``levels``, ``method``)."""
from __future__ import annotations

import copy

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from sim_core.errors import SpikeScopeError
from sim_core.spec import from_dict, to_plain

from .state import SimulationState

MAX_SAMPLE = 200_000  # weights histogrammed per projection (a random subsample beyond)


class WeightsPanel(pn.viewable.Viewer):
    state = param.ClassSelector(class_=SimulationState)

    def __init__(self, **params):
        super().__init__(**params)
        self.projection = pn.widgets.Select(name="Projection", options={})
        self.levels = pn.widgets.IntInput(name="levels (2..256)", value=16, start=2, end=256, width=140)
        self.method = pn.widgets.Select(name="method", options=["mean_variance", "naive", "mean"], width=160)
        self.enabled = pn.widgets.Checkbox(name="limited weight resolution")
        self.apply_button = pn.widgets.Button(name="Apply resolution", button_type="primary")
        self.apply_button.on_click(lambda e: self.apply())
        self.info = pn.pane.Markdown("")
        self.error = pn.pane.Alert("", alert_type="danger", visible=False)
        self._src = ColumnDataSource(dict(left=[], right=[], top=[]))
        fig = figure(height=260, sizing_mode="stretch_width", title="Weight distribution", x_axis_label="weight (pA; mV for delta)",
                     y_axis_label="synapses", tools="pan,wheel_zoom,reset,save")
        fig.quad(left="left", right="right", top="top", bottom=0, source=self._src, fill_alpha=0.7)
        self._fig = fig
        self.projection.param.watch(lambda e: self.refresh(), "value")
        self.state.param.watch(lambda e: self._refresh_options(), ["spec", "version"])
        self._refresh_options()

    def __panel__(self):
        return pn.Column(self.projection, pn.pane.Bokeh(self._fig, sizing_mode="stretch_width"), self.info,
                         pn.Row(self.enabled, self.levels, self.method), self.apply_button, self.error)

    def _refresh_options(self):
        spec = self.state.spec
        opts = {f"{i}: {p.source} → {p.target}": i for i, p in enumerate(spec.projections)}
        self.projection.options = opts
        if opts and self.projection.value not in opts.values():
            self.projection.value = next(iter(opts.values()))
        self.refresh()

    def refresh(self):
        i = self.projection.value
        if i is None or i >= len(self.state.spec.projections):
            return
        with self.state.locked():
            conn = self.state.sim.network.connectome.connections[i]
            w = conn.weight_array()
            bps = self.state.sim.bytes_per_synapse
        if w.size > MAX_SAMPLE:
            w = np.random.default_rng(0).choice(w, MAX_SAMPLE, replace=False)
        if w.size:
            lo, hi = float(w.min()), float(w.max())
            if lo == hi:
                lo, hi = lo - 0.5 * abs(lo or 1), hi + 0.5 * abs(hi or 1)
            counts, edges = np.histogram(w, bins=60, range=(lo, hi))
            self._src.data = dict(left=edges[:-1], right=edges[1:], top=counts)
        res = self.state.spec.projections[i].synapse.resolution
        self.enabled.value = res is not None
        if res is not None:
            self.levels.value, self.method.value = res.levels, res.method
        distinct = np.unique(w).size if w.size else 0
        self.info.object = (f"{conn.n_synapses:,} synapses · {distinct:,} distinct weights"
                            f"{' (sample)' if conn.n_synapses > MAX_SAMPLE else ''} · "
                            f"{bps:.2f} bytes/synapse in the whole network")

    def apply(self):
        i = self.projection.value
        data = copy.deepcopy(to_plain(self.state.spec))
        syn = data["projections"][i]["synapse"]
        if self.enabled.value:
            syn["resolution"] = {"levels": int(self.levels.value), "method": self.method.value}
        else:
            syn.pop("resolution", None)
        try:
            how = self.state.set_spec(from_dict(data))
        except SpikeScopeError as exc:
            self.error.object, self.error.visible = str(exc), True
            return
        self.error.visible = False
        self.state.message = f"weight resolution of projection {i} applied ({how})"
        self.refresh()
