"""An uploaded CSV file, kept between preview and confirm."""

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import TimestampMixin, UTCDateTime, intpk
from crm.extensions import db


class CsvImport(TimestampMixin, db.Model):
    """The very bytes previewed and the column mapping, so that confirming imports exactly them."""

    __tablename__ = "csv_import"

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(20))  # "contacts" or "organisations"
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    skip_duplicates: Mapped[bool] = mapped_column(default=True)
    imported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
