"""The figures of `/complaint stats` and the monthly report as text (issue 14): the numbers
are always given as text, the charts (bot/records/charts.py) only show them."""

from __future__ import annotations

from typing import Any

from blocks.recurrence import CAUSES
from blocks.text import escape, truncate
from bot.i18n import N_, _, fmt_number
from bot.workflow.stats import Figures, pareto

SEVERITY = {"A": N_("A — critical"), "B": N_("B — major"), "C": N_("C — minor")}
NOT_SET = N_("not set")


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{fmt_number(rate * 100, digits=1)} %"


def days(value: float | None) -> str:
    return "—" if value is None else _("{n} days", n=fmt_number(value, digits=1))


def severity_name(code: str | None) -> str:
    return _(SEVERITY[code]) if code in SEVERITY else _(NOT_SET)


def cause_name(code: str | None) -> str:
    return _(CAUSES[code]) if code in CAUSES else (code or _(NOT_SET))


def category_label(code: str | None, names: dict[str, str]) -> str:
    return names.get(code, code) if code else _(NOT_SET)


def _counts(pairs: list[tuple[Any, int]], name: Any, other: int = 0) -> str:
    parts = [f"{escape(truncate(name(k), 60))} {n}" for k, n in pairs]
    if other:
        parts.append(_("others {n}", n=other))
    return ", ".join(parts) or "—"


def _pareto(pairs: list[tuple[Any, int]], name: Any) -> str:
    return (
        ", ".join(
            f"{escape(truncate(name(k), 40))} {n} ({fmt_number(cum * 100)} %)"
            for k, n, cum in pareto(pairs)
        )
        or "—"
    )


def figure_lines(f: Figures, categories: dict[str, str]) -> list[tuple[str, str]]:
    """(label, value) per figure: the text reply, the monthly post and the register sheet."""
    cat = lambda c: category_label(c, categories)  # noqa: E731
    return [
        (_("Complaints received"), str(f.total)),
        (_("By severity"), _counts(f.by_severity, severity_name)),
        (_("By category"), _counts(f.by_category, cat)),
        (_("By customer"), _counts(f.by_customer, str, f.other_customers)),
        (_("By product"), _counts(f.by_product, str, f.other_products)),
        (
            _("Corrective reply on time (1 working day)"),
            f"{percent(f.ca_rate)} ({f.ca_on_time}/{f.ca_due})",
        ),
        (
            _("Preventive reply on time (3 working days)"),
            f"{percent(f.pa_rate)} ({f.pa_on_time}/{f.pa_due})",
        ),
        (
            _("Time to close: median / 90th percentile"),
            f"{days(f.close_days_median)} / {days(f.close_days_p90)} ({f.closed})",
        ),
        (_("Open now / overdue now"), f"{f.open_now} / {f.overdue_now}"),
        (_("Sent back for new countermeasures (cases)"), f"{f.rework_loops} ({f.reworked_cases})"),
        (
            _("Recurrence rate (linked or reopened)"),
            f"{percent(f.recurrence_rate)} ({f.recurrences}/{f.total})",
        ),
        (_("Pareto of categories"), _pareto(f.by_category, cat)),
        (_("Pareto of causes (人/机/料/法/环)"), _pareto(f.by_cause, cause_name)),
    ]


def stats_text(f: Figures, categories: dict[str, str], *, charts: bool = False) -> str:
    head = "*" + _("Complaint figures {period}", period=f.period.describe()) + "*"
    lines = [head] + [f"• *{label}:* {value}" for label, value in figure_lines(f, categories)]
    if charts:
        lines.append("_" + _("The charts follow by direct message.") + "_")
    return truncate("\n".join(lines), 3000)


def chart_spec(f: Figures, categories: dict[str, str]) -> dict[str, Any]:
    """What bot/records/charts.py draws, every label already in the current language."""
    cat = pareto(f.by_category)
    cause = pareto(f.by_cause)
    count = _("Complaints")
    cumulative = _("Cumulative %")
    empty = _("No data")
    return {
        "title": _("Complaint figures {period}", period=f.period.describe()),
        "panels": [
            {
                "kind": "pareto",
                "title": _("Pareto of categories"),
                "labels": [truncate(category_label(k, categories), 20) for k, _n, _c in cat],
                "counts": [n for _k, n, _c in cat],
                "ylabel": count,
                "cumulative": cumulative,
                "empty": empty,
            },
            {
                "kind": "pareto",
                "title": _("Pareto of causes (人/机/料/法/环)"),
                "labels": [truncate(cause_name(k), 20) for k, _n, _c in cause],
                "counts": [n for _k, n, _c in cause],
                "ylabel": count,
                "cumulative": cumulative,
                "empty": empty,
            },
            {
                "kind": "bars",
                "title": _("By severity"),
                "labels": [severity_name(k) for k, _n in f.by_severity],
                "values": [n for _k, n in f.by_severity],
                "format": "{:d}",
            },
            {
                "kind": "bars",
                "title": _("Replies on time"),
                "labels": [_("Corrective (1 day)"), _("Preventive (3 days)")],
                "values": [
                    round((f.ca_rate or 0.0) * 100, 1),
                    round((f.pa_rate or 0.0) * 100, 1),
                ],
                "percent": True,
                "format": "{:.1f} %",
            },
        ],
    }
