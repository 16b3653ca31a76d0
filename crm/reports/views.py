"""Report pages: the dashboard, its tables as CSV, and the annual report (HTML and PDF)."""

import datetime as dt

from flask import Response, abort, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _

from crm.auth.access import require_login
from crm.db import utcnow
from crm.enums import EventKind, OrganisationKind
from crm.errors import ServiceError
from crm.i18n import country_name
from crm.protocol import services as protocol_services
from crm.reports import bp, csvexport, services
from crm.reports.services import Indicators, Period
from crm.timeutil import FIRST_DAY, LAST_DAY

bp.before_request(require_login)

# Dark enough for 3:1 against white (WCAG 1.4.11), and distinct from each other.
PALETTE = ["#1f5fa8", "#b3401b", "#2e7d32", "#6a3d9a", "#7a5c00", "#00717d", "#5d4037"]
MIN_YEAR, MAX_YEAR = FIRST_DAY.year, LAST_DAY.year  # the years the app takes dates in
ANNUAL_EVENT_LIMIT = 500


def _today() -> dt.date:
    return utcnow().astimezone(services.office_zone()).date()


def _period_from_args() -> tuple[Period, ServiceError | None]:
    """The period asked for, or this year and the error when the arguments are bad."""
    try:
        period = services.parse_period(
            request.args.get("from", ""), request.args.get("to", ""), today=_today()
        )
    except ServiceError as error:
        return services.year_period(_today().year), error
    return period, None


def _range(period: Period) -> dict:
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


def summary_rows(ind: Indicators, prev: Indicators) -> list[dict]:
    """The key figures of both periods with their change, each with a link to its records."""
    period = _range(ind.period)
    events = url_for("events.index", **period)
    rows = [
        (_("Events"), ind.total_events, prev.total_events, events),
        (
            _("Delegation visits"),
            ind.by_kind[EventKind.DELEGATION],
            prev.by_kind[EventKind.DELEGATION],
            url_for("events.index", kind="delegation", **period),
        ),
        (_("Expected visitors"), ind.visitors.expected, prev.visitors.expected, events),
        (_("Visitors counted"), ind.visitors.actual, prev.visitors.actual, events),
        (
            _("Partners engaged"),
            sum(ind.partners.values()),
            sum(prev.partners.values()),
            url_for("organisations.index"),
        ),
        (
            _("Consulates involved"),
            ind.consulates[0],
            prev.consulates[0],
            url_for("organisations.index", kind="consulate"),
        ),
        (
            _("Follow-ups created"),
            ind.followups.created,
            prev.followups.created,
            url_for("followups.index", who="all"),
        ),
        (
            _("Follow-ups done on time"),
            ind.followups.done_on_time,
            prev.followups.done_on_time,
            url_for("followups.index", who="all"),
        ),
        (
            _("Median days from event to first follow-up"),
            ind.followups.median_days_to_first,
            prev.followups.median_days_to_first,
            url_for("followups.index", who="all"),
        ),
    ]
    return [
        {
            "label": label,
            "current": current,
            "previous": previous,
            "change": services.change(current, previous),
            "url": url,
        }
        for label, current, previous, url in rows
    ]


def charts(ind: Indicators) -> dict:
    """Chart.js configurations (data only; static/js/reports.js draws them)."""
    kinds = list(EventKind)
    months = list(ind.by_month)
    return {
        "kinds": {
            "type": "bar",
            "labels": [k.label for k in kinds],
            "datasets": [
                {
                    "label": _("Events"),
                    "data": [ind.by_kind[k] for k in kinds],
                    "color": PALETTE[0],
                }
            ],
        },
        "months": {
            "type": "bar",
            "stacked": True,
            "labels": [format_date(m, "MMM yyyy") for m in months],
            "datasets": [
                {
                    "label": k.label,
                    "data": [ind.by_month[m][k] for m in months],
                    "color": PALETTE[i % len(PALETTE)],
                }
                for i, k in enumerate(kinds)
            ],
        },
        "delegations": {
            "type": "bar",
            "horizontal": True,
            "labels": [country_name(code) for code, _n in ind.delegations[:20]],
            "datasets": [
                {
                    "label": _("Delegation visits"),
                    "data": [n for _code, n in ind.delegations[:20]],
                    "color": PALETTE[0],
                }
            ],
        },
        "visitors": {
            "type": "bar",
            "labels": [k.label for k in kinds],
            "datasets": [
                {
                    "label": _("Expected attendance"),
                    "data": [ind.visitors.by_kind[k][0] for k in kinds],
                    "color": PALETTE[0],
                },
                {
                    "label": _("Actual attendance"),
                    "data": [ind.visitors.by_kind[k][1] for k in kinds],
                    "color": PALETTE[1],
                },
            ],
        },
        "partners": {
            "type": "bar",
            "horizontal": True,
            "labels": [k.label for k in OrganisationKind],
            "datasets": [
                {
                    "label": _("Partners engaged"),
                    "data": [ind.partners[k] for k in OrganisationKind],
                    "color": PALETTE[2],
                }
            ],
        },
    }


def bars(pairs: list[tuple[str, int]]) -> list[tuple[str, int, float]]:
    """(label, value, share of the largest value) for server-drawn bar charts."""
    top = max((value for _label, value in pairs), default=0) or 1
    return [(label, value, value / top) for label, value in pairs]


@bp.route("/")
def index():
    """The dashboard for `?from=&to=` (this year by default) beside the previous period."""
    period, error = _period_from_args()
    indicators = services.compute(period, today=_today())
    previous = services.compute(period.previous(), today=_today())
    return render_template(
        "reports/index.html",
        ind=indicators,
        prev=previous,
        summary=summary_rows(indicators, previous),
        charts=charts(indicators),
        range=_range(period),
        error=error,
        month_end=services.month_end,
        pdf=False,
    ), (400 if error else 200)


@bp.route("/<name>.csv")
def table_csv(name: str):
    """One dashboard table as CSV for the period of `?from=&to=`."""
    if name not in csvexport.TABLES:
        abort(404)
    period, error = _period_from_args()
    if error:
        return Response(error.message, status=400, mimetype="text/plain")
    text = csvexport.table_csv(name, services.compute(period, today=_today()))
    filename = f"{name}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


def _annual_context(year: int) -> dict:
    if not MIN_YEAR <= year <= MAX_YEAR:
        abort(404)
    period = services.year_period(year)
    ind = services.compute(period, today=_today())
    prev = services.compute(period.previous(), today=_today())
    return {
        "year": year,
        "ind": ind,
        "prev": prev,
        "summary": summary_rows(ind, prev),
        "kind_bars": bars([(k.label, n) for k, n in ind.by_kind.items()]),
        "month_bars": bars(
            [(format_date(m, "MMMM"), sum(c.values())) for m, c in ind.by_month.items()]
        ),
        "country_bars": bars([(country_name(c), n) for c, n in ind.delegations[:15]]),
        "partner_bars": bars([(k.label, n) for k, n in ind.partners.items()]),
        # A PDF of thousands of table rows takes WeasyPrint minutes: list the first ones only.
        "events": services.event_list(period, services.office_zone(), limit=ANNUAL_EVENT_LIMIT),
        "range": _range(period),
        # Public bodies report gifts given and received: the register's year goes in too.
        "gifts": protocol_services.gifts_for_year(year),
    }


@bp.route("/annual/<int:year>")
def annual(year: int):
    """The annual report as a printable page."""
    return render_template("reports/annual.html", pdf=False, **_annual_context(year))


@bp.route("/annual/<int:year>.pdf")
def annual_pdf(year: int):
    """The annual report as PDF (WeasyPrint renders the same template)."""
    from crm.reports.pdf import html_to_pdf

    html = render_template("reports/annual_pdf.html", pdf=True, **_annual_context(year))
    return Response(
        html_to_pdf(html),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="annual-report-{year}.pdf"'},
    )
