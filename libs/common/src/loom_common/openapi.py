"""Request validation and the OpenAPI document, from the same pydantic models (spectree).

Each service makes one ``ApiSpec`` with :func:`make_spec`, decorates its API views with
``@spec.validate(...)``, and gets ``/openapi.json``. Validation failures answer 422 in the
house error format, naming every bad field.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask, Response
from pydantic import BaseModel
from spectree import SecurityScheme, SpecTree
from spectree.models import SecureType, SecuritySchemeData

from loom_common.api_errors import error_response


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorBody(BaseModel):
    """The house error body, documented for every refusal: ``{"error": {"code", "message"}}``."""

    error: ErrorDetail


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in location) or "body"


def _house_validation_error(
    request: Any, response: Any, validation_error: Any, _instance: Any, *args: Any
) -> None:
    """spectree hook: rewrite its 422 body into ``{"error": {..., "fields": {...}}}``."""
    if validation_error is None or response is None:
        return
    fields = {
        _field_name(e.get("loc", ())): e.get("msg", "invalid") for e in validation_error.errors()
    }
    summary = "; ".join(f"{name}: {message}" for name, message in fields.items())
    replacement = error_response(422, f"invalid request: {summary}", fields=fields)
    response.set_data(replacement.get_data())
    response.headers["Content-Type"] = "application/json"


def make_spec(service: str, version: str = "0.1.0") -> SpecTree:
    return SpecTree(
        "flask",
        title=f"Loom {service}",
        version=version,
        path="apidoc",
        mode="strict",  # only views decorated with @spec.validate are documented
        annotations=True,
        before=_house_validation_error,
        validation_error_status=422,
        validation_error_model=ErrorBody,  # what _house_validation_error answers, not spectree's list
        security_schemes=[
            SecurityScheme(
                name="bearer", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer")
            ),
        ],
        security={"bearer": []},
    )


def init_app(app: Flask, spec: SpecTree) -> None:
    spec.register(app)

    @app.get("/openapi.json")
    def openapi_document() -> Response:
        return Response(orjson.dumps(spec.spec), mimetype="application/json")
