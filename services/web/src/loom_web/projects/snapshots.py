"""What a project is to the rest of the app: a frozen, typed snapshot of it and its members.

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
