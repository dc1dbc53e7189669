"""The current view as a PNG for slides: the raster and the population rates exactly as the
page shows them (the views' own data, decimation and time window included), drawn with
Matplotlib at projector-sized text on a white background, without toolbars."""
from __future__ import annotations

import io

import numpy as np

from .plots import COLORS

SIZE_IN = (12.8, 7.2)  # a 16:9 slide at 100 dpi: 1280 x 720 pixels
DPI = 150  # 1920 x 1080


def view_png(raster, rates, title: str) -> bytes:
    """PNG bytes of ``raster`` (RasterView) above ``rates`` (RateView)."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # no pyplot: no global state in a server thread

    fig = Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    x0, x1 = raster.x_range.start, raster.x_range.end
    d = raster._src.data
    pop = np.asarray(d["pop"], dtype=int)
    colors = np.array(COLORS)[pop % len(COLORS)] if pop.size else []
    yr = raster._fig.y_range
    rows = max(yr.end - yr.start, 1)
    # a neuron's row is [i, i + 1): its spikes in the middle, larger marks when rows are few
    top.scatter(np.asarray(d["t"]), np.asarray(d["y"]) + 0.5, s=float(np.clip(3000.0 / rows, 1.5, 60.0)),
                c=colors, marker="|" if rows <= 50 else "s", linewidths=1.5 if rows <= 50 else 0)
    top.set_ylim(yr.start, yr.end)
    ticks = list(raster._fig.yaxis.ticker.ticks)
    names = raster._fig.yaxis.major_label_overrides
    top.set_yticks(ticks, [names.get(t, names.get(str(t), "")) for t in ticks])
    top.set_title(raster._fig.title.text)
    r = rates._src.data
    for xs, ys, color, name in zip(r["xs"], r["ys"], r["color"], r["name"]):
        bottom.plot(xs, ys, color=color, label=name, lw=1.6)
    if len(r["name"]):
        bottom.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    bottom.set_xlim(x0, x1)
    bottom.set_xlabel("time (ms)")
    bottom.set_ylabel("rate (spikes/s)")
    fig.suptitle(title, fontsize=18)
    for ax in (top, bottom):
        ax.title.set_fontsize(16)
        ax.xaxis.label.set_fontsize(15)
        ax.yaxis.label.set_fontsize(15)
        ax.tick_params(labelsize=13)
        ax.spines[["top", "right"]].set_visible(False)
    out = io.BytesIO()
    fig.savefig(out, format="png", facecolor="white")
    return out.getvalue()
