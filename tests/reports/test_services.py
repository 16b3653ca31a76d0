"""Each indicator's exact value on the known data set (tests/reports/conftest.py)."""

import datetime as dt

import pytest

from crm.enums import EventKind, OrganisationKind, TwinCityCategory
from crm.errors import ServiceError
from crm.reports import services
from crm.reports.services import Period, year_period
from tests.reports.conftest import OSLO, TODAY


@pytest.fixture
def y2025(dataset):
    """The indicators of 2025."""
    return services.compute(year_period(2025), today=TODAY)


def test_event_at_2330_on_new_years_eve_belongs_to_that_year(dataset):
    assert services.total_events(year_period(2025), OSLO) == 3
    assert services.delegations_by_country(year_period(2025), OSLO) == [("DE", 2), ("SE", 1)]


def test_event_at_0030_on_new_years_day_belongs_to_the_next_year(dataset):
    assert services.total_events(year_period(2026), OSLO) == 1
    assert services.delegations_by_country(year_period(2026), OSLO) == [("DE", 1)]


def test_period_bounds_are_oslo_midnights_in_utc():
    lo, hi = year_period(2025).bounds(OSLO)
    assert lo == dt.datetime(2024, 12, 31, 23, 0, tzinfo=dt.UTC)
    assert hi == dt.datetime(2025, 12, 31, 23, 0, tzinfo=dt.UTC)
    summer = Period(dt.date(2025, 7, 1), dt.date(2025, 7, 1)).bounds(OSLO)
    assert summer[0] == dt.datetime(2025, 6, 30, 22, 0, tzinfo=dt.UTC)


def test_events_by_kind_count_live_events_only(y2025):
    assert y2025.total_events == 3
    assert y2025.by_kind[EventKind.DELEGATION] == 2
    assert y2025.by_kind[EventKind.CONGRESS] == 1
    assert sum(y2025.by_kind.values()) == 3  # the cancelled and the deleted one do not count


def test_events_by_month_use_the_local_month(y2025):
    months = y2025.by_month
    assert len(months) == 12
    assert months[dt.date(2025, 3, 1)][EventKind.CONGRESS] == 1
    assert months[dt.date(2025, 6, 1)][EventKind.DELEGATION] == 1
    # 22:30 UTC on 31 December is still December in Oslo
    assert months[dt.date(2025, 12, 1)][EventKind.DELEGATION] == 1
    assert sum(sum(c.values()) for c in months.values()) == 3


def test_months_of_a_period_that_crosses_a_year():
    period = Period(dt.date(2025, 11, 15), dt.date(2026, 2, 3))
    assert services.months_of(period) == [
        dt.date(2025, 11, 1),
        dt.date(2025, 12, 1),
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
    ]


def test_delegations_are_ranked_by_country(y2025):
    assert y2025.delegations == [("DE", 2), ("SE", 1)]  # the congress in DE is no delegation


def test_visitors_sum_expected_and_counted_attendance(y2025):
    v = y2025.visitors
    assert (v.expected, v.actual) == (115, 128)
    assert (v.events_with_expected, v.events_with_actual) == (3, 2)
    assert v.by_kind[EventKind.CONGRESS] == (100, 120)
    assert v.by_kind[EventKind.DELEGATION] == (15, 8)


def test_partners_engaged_are_distinct_organisations_by_kind(y2025):
    assert y2025.partners[OrganisationKind.UNIVERSITY] == 1  # in three events, twice in one
    assert y2025.partners[OrganisationKind.CONSULATE] == 1
    assert y2025.partners[OrganisationKind.TWIN_CITY] == 2
    assert sum(y2025.partners.values()) == 4


def test_consulates_involved_of_all_consulates(y2025):
    assert y2025.consulates == (1, 3)


def test_twin_city_activity_per_category(y2025):
    rows = {row.category: (row.relations, row.active, row.events) for row in y2025.twin_cities}
    assert rows == {
        TwinCityCategory.PROJECT_AGREEMENT: (1, 1, 1),
        TwinCityCategory.POLITICAL_FOCUS: (1, 1, 1),
        TwinCityCategory.SOLIDARITY: (1, 0, 0),  # only in a cancelled and a deleted event
        TwinCityCategory.DORMANT: (1, 0, 0),
    }


def test_twin_cities_without_activity_are_listed(y2025, dataset):
    assert [name for _id, name in y2025.dormant] == ["Petrozavodsk", "Ålesund-partner"]


def test_followup_figures(y2025):
    f = y2025.followups
    assert f.created == 5
    assert f.done == 3
    assert f.done_on_time == 2  # closed 00:30 local the day after its due date is late
    assert f.overdue == 1
    assert f.events_followed_up == 3
    assert f.median_days_to_first == 2.0  # 1, 2 and 5 days


def test_median_days_per_event_from_end_to_first_followup(dataset):
    days = sorted(round(d, 3) for d in services.days_to_first_followup(year_period(2025), OSLO))
    assert days == [1.0, 2.0, 5.0]


def test_top_partners_by_joint_events(y2025, dataset):
    top = [(name, n) for _id, name, _kind, n in y2025.top_partners]
    assert top == [("NTNU", 3), ("Tysklands konsulat", 2), ("Darmstadt", 1), ("Göteborg", 1)]


def test_previous_period_of_a_year_is_the_year_before(dataset):
    assert year_period(2025).previous() == year_period(2024)
    prev = services.compute(year_period(2025).previous(), today=TODAY)
    assert prev.total_events == 1
    assert prev.delegations == [("SE", 1)]
    assert (prev.visitors.expected, prev.visitors.actual) == (3, 3)
    assert prev.consulates == (1, 3)
    assert services.change(3, prev.total_events) == 200.0


def test_previous_period_of_a_range_has_the_same_length():
    period = Period(dt.date(2025, 3, 1), dt.date(2025, 3, 10))
    assert period.previous() == Period(dt.date(2025, 2, 19), dt.date(2025, 2, 28))


def test_change_without_a_base_is_none():
    assert services.change(5, 0) is None
    assert services.change(None, 3) is None
    assert services.change(1, 4) == -75.0


def test_period_defaults_to_this_year(app):
    assert services.parse_period("", "", today=TODAY) == year_period(2026)
    assert services.parse_period("2025-02-01", "", today=TODAY) == Period(
        dt.date(2025, 2, 1), dt.date(2025, 12, 31)
    )


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2025-13-01", "", "from"),
        ("2025-01-01", "soon", "to"),
        ("2025-05-01", "2025-04-30", "to"),
        ("2000-01-01", "2025-01-01", "to"),
    ],
)
def test_bad_period_is_refused_with_a_message(app, start, end, field):
    with pytest.raises(ServiceError) as info:
        services.parse_period(start, end, today=TODAY)
    assert info.value.field == field
    assert info.value.message


def _selects_of_compute(db) -> list[str]:
    from sqlalchemy import event

    statements = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        services.compute(year_period(2025), today=TODAY)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return statements


def test_indicators_use_a_fixed_number_of_queries(app, db, dataset, make_event):
    """GROUP BY in the database: the query count does not grow with the data."""
    before = len(_selects_of_compute(db))
    for day in range(1, 6):
        make_event(
            title=f"Ekstra {day}",
            starts_at=dt.datetime(2025, 9, day, 10, tzinfo=OSLO),
            countries=["NL"],
            participations=[{"organisation_id": dataset.t4.id, "role": "guest"}],
        )
    assert before <= 15
    assert len(_selects_of_compute(db)) == before
