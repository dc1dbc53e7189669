"""Add, edit and remove populations, inputs and projections. The forms are generated
from the model declarations (``sim_core.spec.declarations``) and the rule classes; every
change is validated as a whole spec first, so a bad entry shows an error next to its
field and changes nothing."""
from __future__ import annotations

import copy
from html import escape  # error and status text may carry a spec's strings: never markup

import panel as pn
import param

from sim_core.errors import SpikeScopeError
from sim_core.spec import from_dict, to_plain
from sim_core.spec.declarations import DEVICE_MODELS, NEURON_MODELS
from sim_core.connectivity.groups import ANY, GROUPS
from sim_core.spec.model import RULES, Population, Projection, Synapse

from .checkbox import LabelledCheckbox

from .state import SimulationState

RULE_PARAM = {"pairwise_bernoulli": "p", "fixed_indegree": "indegree", "fixed_outdegree": "outdegree",
              "fixed_total_number": "N"}
NEW = "(new)"
# the field an error names gets a red border (the page-wide rule never reached the input)
FIELD_ERROR_CSS = ":host(.field-error) input, :host(.field-error) select { border: 2px solid #d62728 !important; }"
NAME_HELP = "its name in the spec, the diagram and the plots; renaming keeps its projections"
RULE_HELP = ("how sources and targets are paired: all_to_all, one_to_one, pairwise_bernoulli (each pair with "
             "probability p), fixed_indegree (K sources per target), fixed_outdegree (K targets per source), "
             "fixed_total_number (N synapses in all)")


def _doc(cls, name: str) -> str:
    """A spec field's documentation and unit, from the model's declarations (the schema's source)."""
    import dataclasses
    meta = {f.name: f.metadata for f in dataclasses.fields(cls)}[name]
    return meta.get("doc", "") + (f" ({meta['unit']})" if meta.get("unit") else "")


def _number_or_text(value):
    """A form value back to plain data: numbers stay numbers, YAML-ish text is parsed safely."""
    from sim_core.errors import SpecError
    from sim_core.spec.io import parse_text  # the spec loader's limits (depth, aliases, size)
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
        try:
            return parse_text(value, source="field")
        except SpecError:
            return value
    return value


class NetworkEditor(pn.viewable.Viewer):
    state = param.ClassSelector(class_=SimulationState)
    kind = param.Selector(objects=["population", "input", "projection"], default="population")

    def __init__(self, **params):
        super().__init__(**params)
        self.kind_select = pn.widgets.RadioButtonGroup(options=["population", "input", "projection"],
                                                       value=self.kind, color="light")
        self.item_select = pn.widgets.Select(label="Edit", options=[])
        self.apply_button = pn.widgets.Button(label="Apply", color="primary", width=90)
        self.remove_button = pn.widgets.Button(label="Remove", color="danger", width=90)
        # every change of the model can be taken back (Remove took a population and all its
        # projections with no way back)
        self.undo_button = pn.widgets.Button(label="Undo", width=70, disabled=True)
        self.redo_button = pn.widgets.Button(label="Redo", width=70, disabled=True)
        self.undo_button.on_click(lambda e: self._history(self.state.undo, "undone"))
        self.redo_button.on_click(lambda e: self._history(self.state.redo, "redone"))
        self.error = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=["editor-error"])
        # a group of projections at once (all inhibitory weights x g): one change, one undo
        self.group = pn.widgets.Select(label="group", options=list(GROUPS), value=GROUPS[0], width=150)
        self.group_source = pn.widgets.Select(label="from", options=[ANY], width=80)
        self.group_target = pn.widgets.Select(label="to", options=[ANY], width=80)
        self.group_factor = pn.widgets.FloatInput(label="× factor", value=1.0, width=80,
                                                  description="multiplies every weight (or delay) of the group")
        self.group_button = pn.widgets.Button(label="Multiply", width=90)
        self.group_button.on_click(lambda e: self.scale_group())
        self.fields: dict[str, pn.widgets.Widget] = {}
        self.form = pn.Column()
        self.kind_select.param.watch(lambda e: self._set_kind(e.new), "value")
        self.item_select.param.watch(lambda e: self._build_form(), "value")
        self.apply_button.on_click(lambda e: self.apply())
        self.remove_button.on_click(lambda e: self.remove())
        self.state.param.watch(lambda e: self._refresh_items(), "spec")
        self.state.param.watch(lambda e: self._group_nodes(), "spec")
        self._group_nodes()
        self.state.param.watch(lambda e: self._history_buttons(), "history")
        self._refresh_items()

    def __panel__(self):
        return pn.Column(self.kind_select, self.item_select, self.form, self.error,
                         pn.Row(self.apply_button, self.remove_button, self.undo_button, self.redo_button),
                         "**Edit a group of projections**",
                         pn.Row(self.group, self.group_factor), pn.Row(self.group_source, self.group_target,
                                                                       self.group_button), width=330)

    def _group_nodes(self):
        spec = self.state.spec
        self.group_source.options = [ANY] + list(spec.populations) + list(spec.inputs)
        self.group_target.options = [ANY] + list(spec.populations)

    def scale_group(self):
        """Multiply the chosen group's weights (or delays) by the factor: one model change."""
        from sim_core.connectivity.groups import scale_group
        try:
            spec, chosen = scale_group(self.state.spec, self.group.value, self.group_factor.value,
                                       self.group_source.value, self.group_target.value)
            how = self.state.set_spec(from_dict(to_plain(spec)))  # validated as a whole, like any edit
        except SpikeScopeError as exc:
            self._show_error(exc)
            return
        self.error.visible = False
        self.state.message = (f"{self.group.value} × {self.group_factor.value:g} in {len(chosen)} projection"
                              f"{'s' if len(chosen) != 1 else ''} ({'applied live' if how == 'live' else 'rebuilt'})")

    def _history(self, step, what):
        try:
            how = step()
        except SpikeScopeError as exc:
            self._show_error(exc)
            return
        if how is not None:
            self.error.visible = False
            self.state.message = f"{what} ({'applied live' if how == 'live' else 'rebuilt'})"

    def _history_buttons(self):
        self.undo_button.disabled = not self.state.can_undo
        self.redo_button.disabled = not self.state.can_redo

    # ------------------------------------------------------------------ items
    def _items(self):
        spec = self.state.spec
        if self.kind == "population":
            return list(spec.populations)
        if self.kind == "input":
            return list(spec.inputs)
        return [f"{i}: {p.source} → {p.target}" for i, p in enumerate(spec.projections)]

    def _refresh_items(self):
        current = self.item_select.value
        opts = self._items() + [NEW]
        self.item_select.options = opts
        self.item_select.value = current if current in opts else opts[0]
        self._build_form()

    def _set_kind(self, kind):
        self.kind = kind
        self._refresh_items()

    def _selected(self) -> dict | None:
        data = to_plain(self.state.spec)
        v = self.item_select.value
        if v == NEW or v is None:
            return None
        if self.kind == "population":
            return data["populations"][v]
        if self.kind == "input":
            return data.get("inputs", {})[v]
        return data["projections"][int(v.split(":")[0])]

    # ------------------------------------------------------------------ forms
    def _build_form(self, cur: dict | None = None):
        """The form for the selected item, or for ``cur`` (a changed model or rule)."""
        cur = cur if cur is not None else self._selected()
        self.error.visible = False
        f = {}
        if self.kind == "population":
            cur = cur or {"model": "iaf_psc_exp", "size": 100, "params": {}}
            f["name"] = pn.widgets.TextInput(label="name", value="" if self.item_select.value == NEW
                                             else self.item_select.value, description=NAME_HELP)
            f["model"] = pn.widgets.Select(label="model", options=list(NEURON_MODELS), value=cur["model"],
                                           description=NEURON_MODELS[cur["model"]].doc)
            f["size"] = pn.widgets.IntInput(label="size", value=cur["size"],  # bounds: the spec checks them
                                            description=_doc(Population, "size"))
            for p in NEURON_MODELS[cur["model"]].params:
                f[f"params.{p.name}"] = self._param_widget(p, cur.get("params", {}).get(p.name))
            f["model"].param.watch(lambda e: self._switch_model(e.new), "value")
        elif self.kind == "input":
            cur = cur or {"model": "poisson_generator", "params": {"rate": 1000.0}}
            f["name"] = pn.widgets.TextInput(label="name", value="" if self.item_select.value == NEW
                                             else self.item_select.value, description=NAME_HELP)
            f["model"] = pn.widgets.Select(label="model", options=list(DEVICE_MODELS), value=cur["model"],
                                           description=DEVICE_MODELS[cur["model"]].doc)
            for p in DEVICE_MODELS[cur["model"]].params:
                f[f"params.{p.name}"] = self._param_widget(p, cur.get("params", {}).get(p.name))
            f["model"].param.watch(lambda e: self._switch_model(e.new), "value")
        else:
            spec = self.state.spec
            nodes = list(spec.populations) + list(spec.inputs)
            cur = cur or {"source": nodes[0], "target": list(spec.populations)[0],
                          "rule": {"rule": "all_to_all"}, "synapse": {"weight": 1.0, "delay": 1.0}}
            rule = cur["rule"]
            f["source"] = pn.widgets.Select(label="source", options=nodes, value=cur["source"],
                                            description=_doc(Projection, "source"))
            f["target"] = pn.widgets.Select(label="target", options=list(spec.populations), value=cur["target"],
                                            description=_doc(Projection, "target"))
            f["rule.rule"] = pn.widgets.Select(label="rule", options=list(RULES), value=rule["rule"],
                                               description=RULE_HELP)
            key = RULE_PARAM.get(rule["rule"])
            if key:
                f[f"rule.{key}"] = pn.widgets.TextInput(label=key, value=str(rule.get(key, "")),
                                                        description=_doc(RULES[rule["rule"]], key))
            rule_cls = RULES[rule["rule"]]
            f["rule.allow_autapses"] = LabelledCheckbox(label="allow autapses", value=rule.get("allow_autapses", True),
                                                        description=_doc(rule_cls, "allow_autapses"))
            f["rule.allow_multapses"] = LabelledCheckbox(label="allow multapses",
                                                         value=rule.get("allow_multapses", True),
                                                         description=_doc(rule_cls, "allow_multapses"))
            syn = cur["synapse"]
            f["synapse.weight"] = pn.widgets.TextInput(label="weight (pA; mV for delta, nS for cond)", value=str(syn.get("weight")),
                                                       description=_doc(Synapse, "weight") + "; a number or a "
                                                       "distribution, e.g. {dist: normal, mean: 87.8, std: 8.78}")
            f["synapse.delay"] = pn.widgets.TextInput(label="delay (ms)", value=str(syn.get("delay", 1.0)),
                                                      description=_doc(Synapse, "delay"))
            f["rule.rule"].param.watch(lambda e: self._switch_rule(e.new), "value")
        for w in f.values():  # the page's CSS does not reach into a widget's shadow DOM: its own does
            w.stylesheets = [FIELD_ERROR_CSS]
        self.fields = f
        self.form.objects = list(f.values())

    @staticmethod
    def _param_widget(decl, value):
        label = f"{decl.name} ({decl.unit})" if decl.unit else decl.name
        # the tooltip: what the declaration says, its unit and NEST's default
        tip = decl.doc + (f" ({decl.unit})" if decl.unit else "") + (
            "" if decl.default is None else f"; NEST's default {decl.default:g}")
        if decl.kind == "bool":
            return LabelledCheckbox(label=label, value=bool(value), description=tip)
        shown = "" if value is None else _short(value)
        placeholder = "" if decl.default is None else f"default {decl.default}"
        w = pn.widgets.TextInput(label=label, value=shown, placeholder=placeholder, description=tip)
        w._exact = (shown, value)  # shown short (I_e was 29.03500917400072); kept exact unless edited
        return w

    def _switch_model(self, model):
        data = self._collect()
        data["model"] = model
        data["params"] = {}
        self._build_form(data)

    def _switch_rule(self, rule):
        data = self._collect()
        data["rule"] = {"rule": rule}
        if rule in RULE_PARAM:
            data["rule"][RULE_PARAM[rule]] = {"p": 0.1, "indegree": 10, "outdegree": 10, "N": 1000}[RULE_PARAM[rule]]
        self._build_form(data)

    def _collect(self) -> dict:
        out: dict = {}
        for key, w in self.fields.items():
            exact = getattr(w, "_exact", None)
            if exact is not None and w.value == exact[0]:
                value = exact[1]  # untouched: the value itself, not its short form
            else:
                value = w.value if not isinstance(w, pn.widgets.TextInput) else _number_or_text(w.value)
            if value is None:
                continue
            node = out
            parts = key.split(".")
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            node[parts[-1]] = value
        return out

    # ------------------------------------------------------------------ actions
    def _try(self, data: dict, message: str):
        try:
            spec = from_dict(data)
            how = self.state.set_spec(spec)
        except SpikeScopeError as exc:  # SpecError included: nothing changed
            self._show_error(exc)
            return
        self.error.visible = False
        self.state.message = f"{message} ({'applied live' if how == 'live' else 'rebuilt'})"

    def _show_error(self, exc):
        self.error.object = escape(str(exc))
        self.error.visible = True
        for key, w in self.fields.items():  # mark the field the error names
            w.css_classes = ["field-error"] if getattr(exc, "path", "").endswith(key) else []

    def apply(self):
        data = copy.deepcopy(to_plain(self.state.spec))
        form = self._collect()
        v = self.item_select.value
        if self.kind in ("population", "input"):
            section = "populations" if self.kind == "population" else "inputs"
            name = form.pop("name", "") or ""
            data.setdefault(section, {})
            if v != NEW and name != v:  # renamed: references follow
                data[section] = {(name if k == v else k): val for k, val in data[section].items()}
                for p in data.get("projections", []):
                    p["source"] = name if p["source"] == v else p["source"]
                    p["target"] = name if p["target"] == v else p["target"]
            entry = data[section].get(name, {}) if v != NEW else {}
            entry.update({k: val for k, val in form.items() if k != "params"})
            entry["params"] = form.get("params", {})
            data[section][name or "?"] = entry
        else:
            if v == NEW:
                data.setdefault("projections", []).append(form)
            else:
                i = int(v.split(":")[0])
                form["synapse"] = {**data["projections"][i]["synapse"], **form["synapse"]}
                data["projections"][i] = form
        self._try(data, f"{self.kind} applied")

    def remove(self):
        v = self.item_select.value
        if v == NEW:
            return
        data = copy.deepcopy(to_plain(self.state.spec))
        if self.kind == "projection":
            data["projections"].pop(int(v.split(":")[0]))
        else:
            section = "populations" if self.kind == "population" else "inputs"
            data[section].pop(v)
            kept = [p for p in data.get("projections", []) if v not in (p["source"], p["target"])]
            gone = len(data.get("projections", [])) - len(kept)
            data["projections"] = kept
            if gone:  # say what went with it: the user can take it all back at once
                self._try(data, f"{self.kind} {v} and its {gone} projection{'s' * (gone != 1)} removed (Undo restores them)")
                return
        self._try(data, f"{self.kind} {v} removed (Undo restores it)")


def _short(value) -> str:
    """A number as people read it (7 significant digits); anything else as it is."""
    if isinstance(value, float):
        return f"{value:.7g}"
    return str(value)
