"""A job's arguments as the API receives them: its model, and nothing it does not know."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from loom_common.api_errors import ApiError
from loom_worker.registry import JobSpec


def validate_arguments(spec: JobSpec, args: dict[str, Any]) -> BaseModel:
    """The validated model; a 422 naming each bad field (``args.<field>``) otherwise."""
    fields: dict[str, str] = {}
    for unknown in sorted(set(args) - set(spec.arguments.model_fields)):
        fields[f"args.{unknown}"] = f"{spec.name} takes no argument {unknown!r}"
    try:
        arguments = spec.arguments.model_validate(args)
    except ValidationError as error:
        for problem in error.errors():
            location = ".".join(str(part) for part in problem["loc"])
            fields[f"args.{location}" if location else "args"] = problem["msg"]
        arguments = None
    if fields or arguments is None:
        summary = "; ".join(f"{name}: {message}" for name, message in fields.items())
        raise ApiError(422, f"invalid arguments for {spec.name}: {summary}", fields=fields)
    return arguments
