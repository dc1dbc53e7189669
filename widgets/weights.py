"""Per-projection weights: the distribution of the drawn weights (histogram), and the
spec's weight-resolution control (``levels``, ``method``) with a preview of the weights
after discretization and the memory it saves, before anything is rebuilt."""
from __future__ import annotations

from html import escape  # error and status text may carry a spec's strings: never markup
import copy

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from sim_core.analysis.discretize import discretize
from sim_core.connectivity.values import draw_array
from sim_core.random import streams
from sim_core.errors import SpikeScopeError
from sim_core.spec import from_dict, to_plain

from .state import SimulationState

MAX_SAMPLE = 200_000  # weights histogrammed per projection (a random subsample beyond)


class WeightsPanel(pn.viewable.Viewer):
    state = param.ClassSelector(class_=SimulationState)

    def __init__(self, **params):
        super().__init__(**params)
        self.projection = pn.widgets.Select(label="Projection", options={})
        self.levels = pn.widgets.IntInput(label="levels (2..256)", value=16, start=2, end=256, width=140)
        self.method = pn.widgets.Select(label="method", options=["mean_variance", "naive", "mean"], width=160)
        self.enabled = pn.widgets.Checkbox(label="limited weight resolution")
        self.apply_button = pn.widgets.Button(label="Apply resolution", color="primary")
        self.apply_button.on_click(lambda e: self.apply())
        self.info = pn.pane.Markdown("")
        self.error = pn.pane.Alert("", alert_type="danger", visible=False)
        self._src = ColumnDataSource(dict(left=[], right=[], top=[]))
        self._after = ColumnDataSource(dict(x=[], top=[], width=[]))
        fig = figure(height=260, sizing_mode="stretch_width", title="Weight distribution",
                     x_axis_label="weight (pA; mV for delta, nS for cond)", y_axis_label="synapses",
                     tools="pan,wheel_zoom,reset,save")
        fig.quad(left="left", right="right", top="top", bottom=0, source=self._src, fill_alpha=0.5,
                 fill_color="#999999", line_color=None, legend_label="full resolution")
        fig.vbar(x="x", top="top", width="width", source=self._after, fill_color="#d95f02", line_color=None,
                 fill_alpha=0.8, legend_label="discretized")
        fig.legend.location = "top_right"
        self._fig = fig
        self.projection.param.watch(lambda e: self.refresh(), "value")
        for w in (self.levels, self.method, self.enabled):
            w.param.watch(lambda e: self.preview(), "value")
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
        res = self.state.spec.projections[i].synapse.resolution
        with param.parameterized.discard_events(self):  # set the controls without previewing twice
            self.enabled.value = res is not None
            if res is not None:
                self.levels.value, self.method.value = res.levels, res.method
        self.preview()

    def _drawn(self, i):
        """The projection's full-resolution weights (redrawn: the same counter-based draws
        the build made) and its targets."""
        spec, sim = self.state.spec, self.state.sim
        with self.state.locked():
            conn = sim.network.connectome.connections[i]
            targets = conn.targets
            syn = spec.projections[i].synapse
            w = draw_array(syn.weight, conn.n_synapses, sim.seed, streams.stream(streams.WEIGHT, i), "")
        return conn, w, targets

    def preview(self):
        """Histogram of the drawn weights, the discretized values they would take, and the
        memory of the weights before and after."""
        i = self.projection.value
        if i is None or i >= len(self.state.spec.projections):
            return
        if i >= len(self.state.sim.network.connectome.connections):
            # the spec has changed and its network is still being built (a model with fewer
            # projections before: IndexError); the rebuild's version change redraws
            return
        conn, w, targets = self._drawn(i)
        n = w.size
        if n:
            lo, hi = float(w.min()), float(w.max())
            if lo == hi:
                lo, hi = lo - 0.5 * abs(lo or 1), hi + 0.5 * abs(hi or 1)
            sample = w if n <= MAX_SAMPLE else np.random.default_rng(0).choice(w, MAX_SAMPLE, replace=False)
            counts, edges = np.histogram(sample, bins=60, range=(lo, hi))
            self._src.data = dict(left=edges[:-1], right=edges[1:], top=counts * (n / sample.size))
        one_value = isinstance(self.state.spec.projections[i].synapse.weight, float)
        lines = [f"{n:,} synapses"]
        if self.enabled.value and n and not one_value:
            d = discretize(w, int(self.levels.value), self.method.value, targets,
                           self.state.spec.node_size(self.state.spec.projections[i].target))
            vals, cnt = np.unique(d.values(), return_counts=True)
            width = (hi - lo) / 120
            self._after.data = dict(x=vals, top=cnt, width=np.full(vals.size, width))
            before, after = 4 * n, 1 * n + 8 * d.table.size
            lines.append(f"{d.table.size} values; mean {d.values().mean():.4g} (full {w.mean():.4g}), "
                         f"std {d.values().std():.4g} (full {w.std():.4g})")
            lines.append(f"weight memory {before / 2**20:.2f} MiB → {after / 2**20:.2f} MiB "
                         f"(−{100 * (1 - after / before):.0f} %, 3 bytes per synapse)")
        else:
            self._after.data = dict(x=[], top=[], width=[])
            if one_value:
                lines.append("one weight for all synapses: stored once per projection, nothing to discretize")
        lines.append(f"network now: {self.state.sim.bytes_per_synapse:.2f} bytes/synapse")
        self.info.object = " · ".join(lines)

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
            self.error.object, self.error.visible = escape(str(exc)), True
            return
        self.error.visible = False
        self.state.message = f"weight resolution of projection {i} applied ({how})"
        self.refresh()
