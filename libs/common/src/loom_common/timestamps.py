"""``UtcDatetime``: a timestamp from a request, in UTC, or a 422 naming the field.

Python's datetimes end at year 9999 and begin at year 1; an offset can carry a valid
local time past either end once it is converted to UTC (``9999-12-31T23:59:59-01:00``),
and the conversion raises ``OverflowError`` where the database layer meets it, a 500.
Converting during validation turns that into a refusal of the field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC (a naive one is taken as UTC); ``ValueError`` past datetime's range."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once converted to UTC (years 1 to 9999)") from None


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
"""Any ISO 8601 timestamp; one without an offset is UTC."""

AwareUtcDatetime = Annotated[AwareDatetime, AfterValidator(as_utc)]
"""An ISO 8601 timestamp that must carry its offset."""
