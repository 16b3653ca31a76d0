"""Paging through a SELECT without counting more rows than anyone will page through.

Flask-SQLAlchemy's `paginate` counts every matching row for every page shown: at 100,000
contacts that count costs more than the page itself. Two shortcuts keep the figure exact
where it matters and cheap where it does not:

- a page that is not full is the last one, so the total is known without a count;
- otherwise the count stops at `cap` rows, and the page says "more than 10,000" instead of
  an exact figure nobody would page through (the search or the filters narrow it).
"""

from flask import current_app
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from crm.db import MAX_OFFSET
from crm.extensions import db


class CappedPagination(SelectPagination):
    """A page of results; `total` is exact unless `total_capped`, then it is the cap."""

    def __init__(self, *, count_cap: int | None = None, **kwargs) -> None:
        self.count_cap = count_cap
        self.total_capped = False
        self._counted: int | None = None
        super().__init__(**kwargs)

    @staticmethod
    def _prepare_page_args(**kwargs) -> tuple[int, int]:
        """A page whose first row lies past the largest OFFSET the database takes is past the
        end anyway: it becomes the last such page, not a query SQLite cannot run."""
        page, per_page = SelectPagination._prepare_page_args(**kwargs)
        return min(page, MAX_OFFSET // per_page), per_page

    def _query_items(self) -> list:
        args = self._query_args
        if args.get("rows"):  # a SELECT of columns: its rows, not first values
            stmt = args["select"].limit(self.per_page).offset(self._query_offset)
            return list(db.session.execute(stmt))
        if args.get("count_over"):  # each row also carries the count of all of them
            stmt = args["select"].add_columns(func.count().over())
            rows = db.session.execute(stmt.limit(self.per_page).offset(self._query_offset))
            items = []
            for item, total in rows:
                items.append(item)
                self._counted = total
            return items
        return super()._query_items()

    def _query_count(self) -> int:
        if self._counted is not None:
            if self.count_cap is not None and self._counted > self.count_cap:
                self.total_capped = True
                return self.count_cap
            return self._counted
        if 0 < len(self.items) < self.per_page or (not self.items and self.page == 1):
            return self._query_offset + len(self.items)
        stmt = self._query_args["select"].options(lazyload("*")).order_by(None)
        if self.count_cap is not None:
            stmt = stmt.limit(self.count_cap + 1)
        total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
        if self.count_cap is not None and total > self.count_cap:
            self.total_capped = True
            return self.count_cap
        return total

    @property
    def has_next(self) -> bool:
        """Beyond the cap, a full page may have another after it."""
        return super().has_next or (self.total_capped and len(self.items) == self.per_page)


def paginate(
    stmt,
    *,
    page=None,
    per_page=None,
    max_per_page=None,
    capped=True,
    rows=False,
    count_over=False,
):
    """A page of `stmt` (page and per_page from the request unless given); never a 404.

    `capped` counts at most the configured LIST_COUNT_CAP rows (web lists); the JSON API
    passes False, as its `total` promises an exact figure. `rows` pages a SELECT of columns
    (its items are rows); otherwise the items are the first column's values (ORM objects).

    `count_over` counts in the page's own query (`count(*) OVER ()`), for a SELECT whose
    plan reads every match anyway, as a search sorting what a trigram index found: one scan
    of the matches instead of two. A page past the end is counted apart.
    """
    cap = current_app.config["LIST_COUNT_CAP"] if capped else None
    return CappedPagination(
        count_cap=cap,
        select=stmt,
        rows=rows,
        count_over=count_over,
        session=db.session(),
        page=page,
        per_page=per_page or current_app.config["PER_PAGE"],
        max_per_page=max_per_page,
        error_out=False,
    )
