"""The network diagram (Senk et al. 2022 notation) of the state's spec and its connectivity
matrix, side by side in tabs, redrawn when the spec changes."""
from __future__ import annotations

import panel as pn
import param

from .state import SimulationState

#: grouping choice -> ``network_svg``'s ``compact``
GROUPING = {"auto": None, "groups": True, "every population": False}


class DiagramView(pn.viewable.Viewer):
    state = param.ClassSelector(class_=SimulationState)
    grouping = param.Selector(default="auto", objects=list(GROUPING), doc=(
        "draw populations E0..E19 as one indexed node E_i (auto: when the model has such "
        "groups and is dense)"))
    labels = param.Boolean(default=True, doc="rule and weight beside the arrows (while there are few enough)")

    def __init__(self, **params):
        super().__init__(**params)
        # the drawing scales down to the space it has (it was 900-1,000 px wide whatever the
        # window: cut off on the right in a 1,400 px JupyterLab); its viewBox keeps the shape
        sheet = ["svg { max-width: 100%; height: auto; }"]
        self._pane = pn.pane.HTML(self._svg(), sizing_mode="stretch_width", css_classes=["diagram"],
                                  stylesheets=sheet)
        # the matrix is drawn when its tab is first shown (a 40-population model's 1,600
        # cells with their tooltips are half a megabyte)
        self._matrix = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["connectivity-matrix"],
                                    stylesheets=["svg { max-width: min(100%, 900px); height: auto; }"])
        self._matrix_stale = True
        self._tabs = pn.Tabs(("Graph", self._pane), ("Matrix", self._matrix), dynamic=False,
                             sizing_mode="stretch_width")
        self._tabs.param.watch(lambda e: self._show_matrix(), "active")
        self._controls = pn.Row(
            pn.widgets.RadioButtonGroup.from_param(self.param.grouping, name="grouping"),
            pn.widgets.Checkbox.from_param(self.param.labels, name="labels"))
        self.state.param.watch(lambda e: self.refresh(), "spec")
        self.param.watch(lambda e: self._redraw_graph(), ["grouping", "labels"])

    def _svg(self) -> str:
        from .notation import network_svg
        return network_svg(self.state.spec, compact=GROUPING[self.grouping],
                           annotate=None if self.labels else False)

    def _redraw_graph(self):
        self._pane.object = self._svg()

    def _show_matrix(self):
        if self._tabs.active == 1 and self._matrix_stale:
            from .notation_matrix import connectivity_matrix_svg
            self._matrix.object = connectivity_matrix_svg(self.state.spec)
            self._matrix_stale = False

    def refresh(self):
        self._redraw_graph()
        self._matrix_stale = True
        self._show_matrix()

    def __panel__(self):
        return pn.Column(self._controls, self._tabs, sizing_mode="stretch_width")
