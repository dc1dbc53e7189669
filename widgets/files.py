"""Presets, spec import (through the spec loader and its limits: validated, errors shown,
nothing lost) and exports: spec (YAML/JSON), diagram (SVG) and spikes (SONATA HDF5): the
recent window the session keeps, or with "Record to disk" every spike since it was turned
on, written as the simulation runs."""
from __future__ import annotations

from html import escape  # error and status text may carry a spec's strings: never markup
import io
import tempfile
from pathlib import Path

import panel as pn
import param

from sim_core.errors import SpikeScopeError
from sim_core.models.registry import PRESETS, preset_dict
from sim_core.spec import dumps, from_dict, loads

from .checkbox import LabelledCheckbox
from .state import SimulationState

IMPORTED = "(imported)"  # the preset selector after an import: the model is no preset any more


class FilesPanel(pn.viewable.Viewer):
    state = param.ClassSelector(class_=SimulationState)

    def __init__(self, **params):
        super().__init__(**params)
        self.preset = pn.widgets.Select(label="Preset", options=sorted(PRESETS), value="brunel", width=140,
                                        description="a published model, built at the scale given")
        # no bounds on the widget: it clamped -1 to 0.0001 silently; load_preset says what is wrong
        self.scale = pn.widgets.FloatInput(label="scale", value=0.1, width=75,
                                           description="fraction of the published size (neurons; in-degrees as "
                                                       "the preset says), > 0")
        # 140 + 75 + 95 and their margins fit the 360 px sidebar (the button was cut at "Load pre")
        self.load_button = pn.widgets.Button(label="Load preset", width=95, margin=(23, 5, 5, 5))
        self.load_button.on_click(lambda e: self.load_preset())
        self.upload = pn.widgets.FileInput(accept=".yaml,.yml,.json", multiple=False)
        # onlychanged=False and clear() after each import: the same file again is imported again
        self.upload.param.watch(lambda e: self.import_spec(), "value", onlychanged=False)
        self.error = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=["files-error"])
        self.downloads = pn.FlexBox(
            pn.widgets.FileDownload(callback=lambda: self._text(dumps(self.state.spec, "yaml")),
                                    filename="model.yaml", label="Spec (YAML)", color="light"),
            pn.widgets.FileDownload(callback=lambda: self._text(dumps(self.state.spec, "json")),
                                    filename="model.json", label="Spec (JSON)", color="light"),
            pn.widgets.FileDownload(callback=self._svg, filename="diagram.svg", label="Diagram (SVG)",
                                    color="light"),
            pn.widgets.FileDownload(callback=self._spikes, filename="spikes.h5", label="Spikes (SONATA)",
                                    color="light"),
            pn.widgets.FileDownload(callback=self._session, filename="session.json", label="Session",
                                    color="light", description="the model, its time and the page's view: "
                                    "import the file to continue where you were"),
            pn.widgets.FileDownload(callback=self._png, filename="view.png", label="View (PNG)", color="light",
                                    description="the raster and rates as shown, for slides"))
        # the page's view for a saved session: set by the app (tab, presentation, lesson, ...)
        self.get_view, self.set_view = (lambda: {}), (lambda view: None)
        self.get_png = lambda: b""  # the app's raster and rates as PNG
        from .urlstate import location
        self._location = location()  # the page's address, while the session is being made
        self._name_downloads()
        self.state.param.watch(lambda e: self._name_downloads(), "spec")
        self.record = LabelledCheckbox(label="Record to disk", value=False,
                                       description="write every spike from now on to a SONATA file")
        self.record.param.watch(self._toggle_recording, "value")
        # Markdown wraps within the sidebar (a Str pane was cut off at its right edge)
        self.record_note = pn.pane.Markdown(self._record_text(), styles={"font-size": "12px"}, width=330)
        self.state.param.watch(self._recording_changed, "recording")

    def __panel__(self):
        return pn.Column(pn.Row(self.preset, self.scale, self.load_button), "**Import a spec**", self.upload,
                         self.error, "**Export**", self.downloads, self.record, self.record_note)

    def _name_downloads(self):
        """Exports named after the model (they were all 'model.yaml')."""
        name = self.state.spec.name
        for w, suffix in zip(self.downloads.objects, (".yaml", ".json", "-diagram.svg", "-spikes.h5",
                                                      "-session.json", "-view.png")):
            w.filename = name + suffix

    def _record_text(self):
        if self.state.recording:
            return f"Writing every spike to `{self.state.recording}`; Spikes (SONATA) downloads it."
        window = self.state.record_window_ms
        held = "all spikes" if window is None else f"the last {window / 1000:g} s of spikes"
        return f"The session keeps {held}; Record to disk writes every spike from now on (SONATA)."

    def _toggle_recording(self, event):
        try:
            if event.new and not self.state.recording:
                self.state.start_recording()
                self.state.message = "recording to disk"
            elif not event.new and self.state.recording:
                self.state.message = f"recorded: {self.state.stop_recording()}"
        except (OSError, SpikeScopeError) as exc:
            self.state.message = f"recording: {exc}"
            self.record.value = bool(self.state.recording)

    def _recording_changed(self, event):
        self.record_note.object = self._record_text()
        if not event.new and self.record.value:  # ended by a reset or a rebuild
            self.record.value = False

    @staticmethod
    def _text(text: str):
        return io.BytesIO(text.encode())

    def _svg(self):
        from .notation import network_svg
        return self._text(network_svg(self.state.spec))

    def _spikes(self):
        from sim_core.io.sonata import write_spikes
        recorded = self.state.recorded_file()
        if recorded is not None:
            return io.BytesIO(recorded.read_bytes())
        with self.state.locked(), tempfile.TemporaryDirectory() as tmp:
            sim = self.state.sim
            path = Path(tmp) / "spikes.h5"
            write_spikes(path, {n: sim.spikes(n) for n in sim.spike_record.recorded})
            return io.BytesIO(path.read_bytes())

    def _session(self):
        from .session_file import dumps as session_text
        return self._text(session_text(self.state, self.get_view()))

    def _png(self):
        return io.BytesIO(self.get_png())

    def _take(self, spec, what):
        self.error.visible = False
        self.state.set_spec(spec)
        self.state.message = f"loaded {what}"

    def load_preset(self):
        if self.preset.value == IMPORTED:
            self.error.object, self.error.visible = "Preset: choose one of " + ", ".join(sorted(PRESETS)), True
            return
        scale = self.scale.value
        if scale is None or not scale > 0:
            self.error.object, self.error.visible = escape(f"scale: {scale} must be > 0"), True
            return
        try:
            self._take(from_dict(preset_dict(self.preset.value, float(self.scale.value))),
                       f"{self.preset.value} (scale {self.scale.value})")
        except (SpikeScopeError, ValueError) as exc:
            self.error.object, self.error.visible = escape(str(exc)), True
            return
        from .urlstate import write
        write(self._location, self.preset.value, float(self.scale.value))  # the address opens this model
        self.preset.options = sorted(PRESETS)

    def _restore_session(self, name: str) -> bool:
        """A saved session (True), restored with its view; a spec: False. Raises on a bad one."""
        from sim_core.spec.io import parse_text
        from .session_file import is_session, restore
        data = parse_text(self.upload.value, "json", source=name)  # the spec loader's limits
        if not is_session(data):
            return False
        self.error.visible = False
        view = restore(self.state, data)
        self.set_view(view)
        from .urlstate import clear
        clear(self._location)
        return True

    def import_spec(self):
        if not self.upload.value:
            return
        name = self.upload.filename or "upload"
        try:  # the bytes as uploaded: the loader checks size, encoding, nodes and depth
            if name.lower().endswith(".json") and self._restore_session(name):
                return
            spec = loads(self.upload.value, "json" if name.lower().endswith(".json") else "yaml")
            self._take(spec, name)
            from .urlstate import clear
            clear(self._location)
            self.preset.options = sorted(PRESETS) + [IMPORTED]  # it showed the preset loaded before
            self.preset.value = IMPORTED
        except SpikeScopeError as exc:  # the current model stays as it was
            self.error.object, self.error.visible = escape(f"{name}: {exc}"), True
        finally:
            self.upload.clear()
