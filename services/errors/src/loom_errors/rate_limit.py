"""A token bucket per project, kept in the database so every gunicorn worker shares it.

Each allowed event takes one token; tokens refill at ``rate`` a second up to ``burst``.
One conditional UPDATE both refills and takes, so concurrent workers cannot overspend:
PostgreSQL re-checks the condition on a row another transaction just changed, and SQLite
has one writer at a time.
"""

from __future__ import annotations

import math
import time

from sqlalchemy import case, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from loom_errors.models import RateBucket


def take_token(
    session: Session, project_id: int, rate: float, burst: int, now: float | None = None
) -> int:
    """0 if the event may go in, else the whole seconds to wait until a token is back."""
    if rate <= 0:
        return 0
    now = time.time() if now is None else now
    refilled = RateBucket.tokens + (literal(now) - RateBucket.updated_at) * rate
    available = case((refilled > burst, float(burst)), else_=refilled)
    taken = session.execute(
        update(RateBucket)
        .where(RateBucket.project_id == project_id, available >= 1)
        .values(tokens=available - 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount:  # type: ignore[attr-defined]
        return 0
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # RETURNING, not rowcount: psycopg reports 1 for a row ON CONFLICT skipped.
    created = session.scalar(
        insert(RateBucket)
        .values(project_id=project_id, tokens=float(burst - 1), updated_at=now)
        .on_conflict_do_nothing(index_elements=["project_id"])
        .returning(RateBucket.project_id)
    )
    if created is not None:
        return 0
    tokens = session.scalar(select(available).where(RateBucket.project_id == project_id)) or 0.0
    return max(1, math.ceil((1 - tokens) / rate))
