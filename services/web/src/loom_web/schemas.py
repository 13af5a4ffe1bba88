"""Request and response models of the web API (they also make its OpenAPI document)."""

from __future__ import annotations

from pydantic import BaseModel, Field


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
