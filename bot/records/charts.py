"""The KPI charts as one PNG (issue 14): Pareto of categories, Pareto of 人/机/料/法/环
causes, complaints by severity, and the reply promises kept.

Runs only in the records helper process (bot/records/isolated.py): matplotlib costs some
40 MB once imported, which the web process and the worker never pay. It gets plain data
with every label already in the team's language, and gives back the PNG's bytes."""

from __future__ import annotations

import io
from typing import Any

from bot.records.fonts import find_font, font_for


def _pareto(ax: Any, panel: dict[str, Any], font: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    labels, counts = panel["labels"], panel["counts"]
    total = sum(counts) or 1
    ax.set_title(panel["title"], fontproperties=font)
    if not counts:
        ax.text(0.5, 0.5, panel["empty"], ha="center", va="center", fontproperties=font)
        ax.set_axis_off()
        return
    xs = list(range(len(counts)))
    ax.bar(xs, counts, color="#2C4A6E")
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, rotation=30, ha="right", fontproperties=font)
    ax.set_ylabel(panel["ylabel"], fontproperties=font)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # complaints come whole
    cum, run = [], 0
    for n in counts:
        run += n
        cum.append(100.0 * run / total)
    twin = ax.twinx()
    twin.plot(xs, cum, color="#C0392B", marker="o")
    twin.set_ylim(0, 105)
    twin.set_ylabel(panel["cumulative"], fontproperties=font)


def _bars(ax: Any, panel: dict[str, Any], font: Any) -> None:
    ax.set_title(panel["title"], fontproperties=font)
    labels, values = panel["labels"], panel["values"]
    xs = list(range(len(values)))
    ax.bar(xs, values, color=panel.get("colors") or "#2C4A6E")
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, fontproperties=font)
    if panel.get("percent"):
        ax.set_ylim(0, 105)
    else:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for x, v in zip(xs, values, strict=True):
        ax.text(x, v, panel["format"].format(v), ha="center", va="bottom", fontproperties=font)


def render(spec: dict[str, Any], configured_font: str = "") -> bytes:
    """The PNG of `spec` = {title, panels: [{kind: pareto|bars, …}]}, 2 × 2 panels."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.font_manager import FontProperties

    text = {spec["title"]}
    for p in spec["panels"]:
        text |= {p["title"], p.get("ylabel", ""), p.get("cumulative", ""), p.get("empty", "")}
        text |= set(p["labels"])
    path = font_for(find_font(configured_font), set("".join(text)) | set("0123456789.%"))
    font = FontProperties(fname=path, size=9)
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), dpi=100)
    try:
        fig.suptitle(spec["title"], fontproperties=FontProperties(fname=path, size=14))
        for ax, panel in zip(axes.flat, spec["panels"], strict=False):
            (_pareto if panel["kind"] == "pareto" else _bars)(ax, panel, font)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(fig)
