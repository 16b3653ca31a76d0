"""Web lists count their matches only as far as anyone pages: exact when short, capped when long."""

from sqlalchemy import event as sa_event

from crm.organisations.models import Organisation
from crm.pagination import paginate


def _orgs(db, n):
    db.session.add_all(Organisation(name=f"Org {i:03}", kind="ngo") for i in range(n))
    db.session.commit()


def _count_statements(db, fn):
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa_event.listen(db.engine, "before_cursor_execute", listener)
    try:
        return fn(), [s for s in statements if "count(" in s.lower()]
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", listener)


def _stmt():
    from sqlalchemy import select

    return select(Organisation).order_by(Organisation.name)


def test_a_page_that_is_not_full_needs_no_count(app, db):
    _orgs(db, 7)
    with app.test_request_context("/?page=1"):
        page, counts = _count_statements(db, lambda: paginate(_stmt(), per_page=10))
        assert (page.total, page.total_capped, counts) == (7, False, [])
    with app.test_request_context("/?page=2"):
        page, counts = _count_statements(db, lambda: paginate(_stmt(), per_page=5))
        assert (page.total, len(page.items), counts) == (7, 2, [])


def test_a_full_page_counts_exactly_below_the_cap(app, db):
    _orgs(db, 10)
    app.config["LIST_COUNT_CAP"] = 50
    with app.test_request_context("/"):
        page, counts = _count_statements(db, lambda: paginate(_stmt(), per_page=5))
    assert (page.total, page.pages, page.total_capped, len(counts)) == (10, 2, False, 1)


def test_beyond_the_cap_the_total_is_the_cap_and_paging_goes_on(app, db):
    _orgs(db, 12)
    app.config["LIST_COUNT_CAP"] = 8
    with app.test_request_context("/?page=2"):
        page = paginate(_stmt(), per_page=4)
        assert (page.total, page.total_capped, page.pages, page.has_next) == (8, True, 2, True)
    with app.test_request_context("/?page=3"):
        page = paginate(_stmt(), per_page=4)
        assert [o.name for o in page.items] == ["Org 008", "Org 009", "Org 010", "Org 011"]
        assert page.total_capped and page.has_next  # a full page: there may be more
    with app.test_request_context("/"):
        exact = paginate(_stmt(), per_page=4, capped=False)
        assert (exact.total, exact.total_capped) == (12, False)


def test_the_list_says_more_than_the_cap(app, db, client, login_as):
    _orgs(db, 30)
    app.config["LIST_COUNT_CAP"] = 26
    login_as("viewer")
    body = client.get("/organisations/").get_data(as_text=True)
    assert "Flere enn 26: søk eller filtrer" in body  # the default language is Bokmål
    assert "i alt" not in body
    app.config["LIST_COUNT_CAP"] = 1000
    assert "30 i alt" in client.get("/organisations/").get_data(as_text=True)


def test_count_over_counts_in_the_pages_own_query(app, db, count_queries):
    """The same items and total as a separate count, in one statement; past the end, and
    beyond the cap, it behaves as the separate count does."""
    _orgs(db, 12)
    app.config["LIST_COUNT_CAP"] = 50
    for number in (1, 2, 3):
        with app.test_request_context(f"/?page={number}"):
            plain = paginate(_stmt(), per_page=5)
            plain_view = ([o.name for o in plain.items], plain.total, plain.pages)
            with count_queries() as statements:
                over = paginate(_stmt(), per_page=5, count_over=True)
                over_view = ([o.name for o in over.items], over.total, over.pages)
            assert over_view == plain_view
            assert len(statements) == 1 and "over" in statements[0].lower()
    with app.test_request_context("/?page=9"):  # past the end: no row carries the count
        beyond = paginate(_stmt(), per_page=5, count_over=True)
        assert (beyond.items, beyond.total) == ([], 12)
    app.config["LIST_COUNT_CAP"] = 8
    with app.test_request_context("/"):
        capped = paginate(_stmt(), per_page=5, count_over=True)
        assert (capped.total, capped.total_capped, capped.has_next) == (8, True, True)
