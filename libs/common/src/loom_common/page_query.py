"""What the operator pages of every service share about their query strings: filters read
from a form into the service's pydantic query model, and links that keep them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel, ValidationError

Query = TypeVar("Query", bound=BaseModel)


class BadFilters(ValueError):
    """``problems`` maps each bad parameter to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in problems.items()))
        self.problems = problems


def validate_filters(model: type[Query], values: dict[str, Any]) -> Query:
    """``values`` as ``model``; raises BadFilters naming each bad parameter."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise BadFilters(
            {
                ".".join(str(part) for part in problem["loc"]) or "query": problem["msg"]
                for problem in error.errors()
            }
        ) from None


def query_string(pairs: Iterable[tuple[str, str]], **replaced: str) -> str:
    """``pairs`` with the ``replaced`` names set anew (an empty value drops the name)."""
    kept = [(name, value) for name, value in pairs if name not in replaced]
    kept.extend((name, value) for name, value in replaced.items() if value)
    return urlencode(kept)
