"""The network diagram (Senk et al. 2022 notation) of the state's spec, redrawn when
the spec changes."""
from __future__ import annotations

import panel as pn
import param

from .state import SimulationState


class DiagramView(pn.viewable.Viewer):
    state = param.ClassSelector(class_=SimulationState)

    def __init__(self, **params):
        super().__init__(**params)
        # the drawing scales down to the space it has (it was 900-1,000 px wide whatever the
        # window: cut off on the right in a 1,400 px JupyterLab); its viewBox keeps the shape
        self._pane = pn.pane.HTML(self._svg(), sizing_mode="stretch_width", css_classes=["diagram"],
                                  stylesheets=["svg { max-width: 100%; height: auto; }"])
        self.state.param.watch(lambda e: self.refresh(), "spec")

    def _svg(self) -> str:
        from .notation import network_svg
        return network_svg(self.state.spec)

    def refresh(self):
        self._pane.object = self._svg()

    def __panel__(self):
        return self._pane
