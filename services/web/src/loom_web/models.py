"""The web app's tables (its own database: LOOM_WEB_DATABASE_URL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from loom_common.db import UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


class GreetingRequest(Base):
    """A greeting the web app asked the worker to prepare (the sample background job)."""

    __tablename__ = "greeting_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    job_id: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
