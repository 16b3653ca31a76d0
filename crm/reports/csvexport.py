"""The dashboard's tables as CSV: translated headers, UTF-8 with BOM, formula-safe cells."""

from collections.abc import Callable

from flask_babel import format_date
from flask_babel import gettext as _

from crm.i18n import country_name
from crm.imports.csvfile import write
from crm.reports.services import Indicators


def _kinds(ind: Indicators):
    return [_("Kind"), _("Events")], [(k.label, n) for k, n in ind.by_kind.items()]


def _months(ind: Indicators):
    kinds = list(next(iter(ind.by_month.values()), {}).keys())
    headers = [_("Month"), *(k.label for k in kinds), _("Total")]
    rows = [
        [format_date(month, "MMMM yyyy"), *counts.values(), sum(counts.values())]
        for month, counts in ind.by_month.items()
    ]
    return headers, rows


def _delegations(ind: Indicators):
    return [_("Country"), _("Code"), _("Delegation visits")], [
        (country_name(code), code, n) for code, n in ind.delegations
    ]


def _visitors(ind: Indicators):
    rows = [(k.label, e, a) for k, (e, a) in ind.visitors.by_kind.items()]
    rows.append((_("Total"), ind.visitors.expected, ind.visitors.actual))
    return [_("Kind"), _("Expected attendance"), _("Actual attendance")], rows


def _partners(ind: Indicators):
    return [_("Kind"), _("Partners engaged")], [(k.label, n) for k, n in ind.partners.items()]


def _twin_cities(ind: Indicators):
    rows = [
        (
            row.category.label if row.category else _("No category"),
            row.relations,
            row.active,
            row.events,
        )
        for row in ind.twin_cities
    ]
    headers = [_("Relation category"), _("Relations"), _("Active relations"), _("Joint events")]
    return headers, rows


def _dormant(ind: Indicators):
    return [_("Twin city without activity")], [(name,) for _id, name in ind.dormant]


def _followups(ind: Indicators):
    f = ind.followups
    rows = [
        (_("Follow-ups created"), f.created),
        (_("Done"), f.done),
        (_("Done on time"), f.done_on_time),
        (_("Overdue"), f.overdue),
        (_("Events followed up"), f.events_followed_up),
        (
            _("Median days from event to first follow-up"),
            "" if f.median_days_to_first is None else f.median_days_to_first,
        ),
    ]
    return [_("Figure"), _("Value")], rows


def _top_partners(ind: Indicators):
    return [_("Organisation"), _("Kind"), _("Joint events")], [
        (name, kind.label, n) for _id, name, kind, n in ind.top_partners
    ]


TABLES: dict[str, Callable[[Indicators], tuple[list, list]]] = {
    "kinds": _kinds,
    "months": _months,
    "delegations": _delegations,
    "visitors": _visitors,
    "partners": _partners,
    "twin-cities": _twin_cities,
    "dormant": _dormant,
    "followups": _followups,
    "top-partners": _top_partners,
}


def table_csv(name: str, indicators: Indicators) -> str:
    """One of TABLES as CSV text (BOM first, `;` between cells, as Excel in Norway expects)."""
    headers, rows = TABLES[name](indicators)
    return write(headers, rows)
