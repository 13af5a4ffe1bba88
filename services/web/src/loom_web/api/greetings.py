"""The web app's JSON API."""

from __future__ import annotations

from flask import Blueprint
from spectree import Response

from loom_common.broker import send_after_commit
from loom_common.contracts import JOBS_QUEUE
from loom_common.flask_app import current_database
from loom_common.request_context import current_request_id
from loom_web.api.schemas import GreetingIn, GreetingQueued, HelloQuery, HelloResponse
from loom_web.extensions import spec
from loom_web.models import GreetingRequest

api = Blueprint("api", __name__, url_prefix="/api")

GREET_ACTOR = "greet"  # defined by the worker; see services/worker/src/loom_worker/actors.py


@api.get("/hello")
@spec.validate(query=HelloQuery, resp=Response(HTTP_200=HelloResponse), tags=["web"])
def hello(query: HelloQuery) -> HelloResponse:
    """Say hello: the smallest JSON endpoint, through the whole Loom stack."""
    return HelloResponse(message=f"Hello, {query.name}!", request_id=current_request_id() or "")


@api.post("/greetings")
@spec.validate(json=GreetingIn, resp=Response(HTTP_202=GreetingQueued), tags=["web"])
def queue_greeting(json: GreetingIn) -> tuple[GreetingQueued, int]:
    """Ask the worker to prepare a greeting in the background."""
    with current_database().session() as session:
        message = send_after_commit(session, JOBS_QUEUE, GREET_ACTOR, name=json.name)
        session.add(
            GreetingRequest(
                name=json.name, job_id=message.message_id, request_id=current_request_id() or ""
            )
        )
    return GreetingQueued(
        job_id=message.message_id, status="queued", request_id=current_request_id() or ""
    ), 202
