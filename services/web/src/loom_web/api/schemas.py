"""Request and response models of the web API, ``/api/hello`` and ``/api/v1`` (they also make its
OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from loom_common.bounded_ints import Id

TaskStatus = Literal["open", "in_progress", "done"]
Role = Literal["owner", "member"]

Title = Field(min_length=1, max_length=200)
Description = Field(default="", max_length=10_000)


class Strict(BaseModel):
    """Unknown fields are an error, so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid")


# --- hello and greetings (/api) ---


class HelloQuery(BaseModel):
    name: str = Field(default="world", min_length=1, max_length=100)


class HelloResponse(BaseModel):
    message: str
    request_id: str


class GreetingIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="who to greet")


class GreetingQueued(BaseModel):
    job_id: str = Field(description="the worker's job id: GET /api/jobs/<job_id> on the worker")
    status: str
    request_id: str


# --- accounts ---


class UserOut(BaseModel):
    id: int
    name: str
    email: str


class TokenLogin(Strict):
    email: EmailStr
    password: str = Field(min_length=1, max_length=1000)
    name: str = Field(default="api", min_length=1, max_length=100, description="label of the token")


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=100)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None


class TokenCreated(TokenOut):
    token: str = Field(description="shown once; only its hash is kept")


class TokenList(BaseModel):
    items: list[TokenOut]
    next_cursor: str | None = None


# --- projects ---


class ProjectIn(Strict):
    name: str = Title
    description: str = Description


class MemberOut(UserOut):
    role: Role


class ProjectOut(BaseModel):
    id: int
    name: str
    description: str
    owner_id: int
    created_at: datetime
    members: list[MemberOut]


class ProjectList(BaseModel):
    items: list[ProjectOut]
    next_cursor: str | None = None


class MemberIn(Strict):
    email: EmailStr
    role: Role = "member"


# --- tasks ---


class TaskIn(Strict):
    title: str = Title
    description: str = Description
    status: TaskStatus = "open"
    assignee_id: Id | None = None
    due_date: AwareDatetime | None = Field(default=None, description="ISO 8601 with a timezone")


class TaskPatch(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    status: TaskStatus | None = None
    assignee_id: Id | None = None
    due_date: AwareDatetime | None = None


class TaskQuery(BaseModel):
    status: TaskStatus | None = None
    assignee_id: Id | None = None
    due_before: AwareDatetime | None = None
    due_after: AwareDatetime | None = None
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=200)


class TaskOut(BaseModel):
    id: int
    project_id: int
    title: str
    description: str
    status: TaskStatus
    assignee: UserOut | None
    due_date: datetime | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


class TaskList(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class ExportQueued(BaseModel):
    id: int
    job_id: str
    project_id: int
    status: str


# --- internal (operator token) ---


class DigestQuery(BaseModel):
    due_before: AwareDatetime


class DigestTask(BaseModel):
    title: str
    project: str
    due_date: datetime
    url: str


class DigestUser(BaseModel):
    email: str
    name: str
    tasks: list[DigestTask]


class Digest(BaseModel):
    items: list[DigestUser]


class CleanupDone(BaseModel):
    sessions: int = Field(description="expired login sessions removed")
    password_resets: int = Field(description="expired or used password reset tokens removed")
