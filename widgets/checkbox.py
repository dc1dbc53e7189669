"""A checkbox whose label toggles it. Bokeh 3.9's Checkbox draws its text as a <div> beside
the <input> (measured: clicking "Record to disk" or "allow autapses" changed nothing); here
the input sits inside a real <label>, as in any HTML form, and keyboard focus works as usual."""
from __future__ import annotations

import param
from panel.custom import JSComponent


class LabelledCheckbox(JSComponent):
    value = param.Boolean(default=False)
    label = param.String(default="")
    description = param.String(default="", doc="shown as the label's tooltip")
    disabled = param.Boolean(default=False)

    _esm = """
export function render({ model }) {
  const label = document.createElement("label")
  label.style.cssText = "display:flex;align-items:center;gap:6px;cursor:pointer;font-size:var(--font-size, 12px);"
  const box = document.createElement("input")
  box.type = "checkbox"
  const text = document.createElement("span")
  const show = () => {
    box.checked = model.value
    box.disabled = model.disabled
    text.textContent = model.label   // text, never markup: a spec's names end up here
    label.title = model.description
  }
  show()
  box.addEventListener("change", () => { model.value = box.checked })
  model.on(["value", "label", "description", "disabled"], show)
  label.append(box, text)
  return label
}
"""

    def __init__(self, **params):
        params.setdefault("height", 24)
        params.setdefault("margin", (5, 10))
        super().__init__(**params)
