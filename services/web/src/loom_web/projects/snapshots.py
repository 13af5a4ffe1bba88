"""What a project is to the rest of the app: frozen, typed snapshots of it, its members and
its latest exports.

The read-through cache holds these (pickled, for Redis and the file cache), the rules read them
and the pages and the API render them; none of them touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Member:
    """A person in a project, with their role there (``owner`` or ``member``)."""

    id: int
    name: str
    email: str
    role: str


@dataclass(frozen=True, slots=True)
class ProjectView:
    id: int
    name: str
    description: str
    owner_id: int
    created_at: datetime
    members: tuple[Member, ...]

    @property
    def member_ids(self) -> frozenset[int]:
        return frozenset(member.id for member in self.members)


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """One export asked of the worker; ``job_id`` follows it there."""

    id: int
    job_id: str
    created_at: datetime
