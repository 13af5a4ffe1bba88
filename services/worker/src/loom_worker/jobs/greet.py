"""The sample job that the web app enqueues (POST /api/greetings on web)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from loom_worker.job_context import JobContext
from loom_worker.registry import job


class GreetArgs(BaseModel):
    name: str = Field(max_length=200)


def greeting(name: str) -> dict[str, Any]:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"greet needs a non-empty name, got {name!r}")
    return {"greeting": f"Hello, {name.strip()}!"}


@job("greet", GreetArgs, max_retries=3)
def greet(args: GreetArgs, context: JobContext) -> dict[str, Any]:
    return greeting(args.name)
