"""Migration 0004 (issue keys unique per project) on SQLite and PostgreSQL: issues stored
before it keep grouping their events, and the way down and back up keeps them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from loom_common.db import Database
from loom_common.migrations import downgrade, upgrade
from loom_common.testing import temporary_postgres_database
from loom_errors.ingest.sentry_event import parse_event
from loom_errors.models import Base, Issue, Project, utcnow
from loom_errors.store.events import ingest
from loom_errors.store.grouping import fingerprint


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'errors.db'}"
        return
    with temporary_postgres_database() as url:
        yield url


def _issue_row(project_id: int, event: dict[str, Any]) -> dict[str, Any]:
    """An issue as the code before 0004 stored it (keys unchanged by 0004)."""
    now = utcnow()
    return {
        "project_id": project_id,
        "fingerprint": fingerprint(parse_event(event), project_id),
        "grouping_version": 2,
        "title": "stored before",
        "level": "error",
        "status": "unresolved",
        "count": 1,
        "user_count": 0,
        "first_seen": now,
        "last_seen": now,
        "last_event_id": "0" * 32,
    }


def test_issues_stored_before_keep_their_events_up_and_down(
    empty_url: str, sentry_events: Any
) -> None:
    upgrade("errors", empty_url, "0003")
    database = Database(empty_url)
    try:
        with database.session() as session:
            session.add(Project(id=2, name="shop"))
        old = sentry_events.message("stored before 0004")
        with database.engine.begin() as connection:
            old_id = connection.execute(
                insert(Issue).returning(Issue.id), [_issue_row(2, old)]
            ).scalar_one()

        upgrade("errors", empty_url)
        assert ingest(database, sentry_events.message("stored before 0004"), 2).issue.id == old_id
        # The same key in another project is another issue now.
        assert ingest(database, sentry_events.message("elsewhere", fingerprint=["k"]), 1)
        assert ingest(database, sentry_events.message("elsewhere", fingerprint=["k"]), 2)

        with database.session() as session:
            session.execute(Issue.__table__.delete().where(Issue.project_id == 1))
        downgrade("errors", empty_url, "0003")
        with database.engine.begin() as connection:
            assert connection.scalar(select(Issue.count).where(Issue.id == old_id)) == 2
            with pytest.raises(IntegrityError):  # one key across projects again
                row = connection.scalar(select(Issue.fingerprint).where(Issue.id == old_id))
                connection.execute(insert(Issue), [{**_issue_row(1, old), "fingerprint": row}])

        upgrade("errors", empty_url)
        assert ingest(database, sentry_events.message("stored before 0004"), 2).issue.id == old_id
    finally:
        database.dispose()


def test_the_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
