"""Integers from the outside world, bounded to what the databases can store.

SQLite and PostgreSQL keep integers in 64 bits; a larger one (``/api/issues/820517158035656953298944``)
makes the driver raise ``OverflowError`` instead of finding nothing. So every ``<int:...>`` in a
route matches only a signed 64-bit value (a larger id cannot exist: 404), and the pydantic models
of query strings and bodies use :data:`BoundedInt` / :data:`Id` (a larger value: 422 naming the
field).
"""

from __future__ import annotations

from typing import Annotated, Any

from flask import Flask
from pydantic import Field
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

MAX_INT64 = 2**63 - 1
MIN_INT64 = -(2**63)

BoundedInt = Annotated[int, Field(ge=MIN_INT64, le=MAX_INT64)]
"""An integer a BIGINT column can hold (a count, a limit, an offset)."""

Id = Annotated[int, Field(ge=1, le=MAX_INT64)]
"""A row id: positive and within a BIGINT."""


class BoundedIntConverter(IntegerConverter):
    """werkzeug's ``int`` converter, answering 404 past a signed 64-bit value.

    NotFound is raised here rather than werkzeug's ValidationError: on a ValidationError the
    router reports the other methods of the same path, and ``PATCH /api/issues/<huge>`` would
    be a misleading 405.
    """

    def to_python(self, value: str) -> Any:
        if not MIN_INT64 <= int(value) <= MAX_INT64:
            raise NotFound(f"no such id: {value} is past the largest id ({MAX_INT64})")
        return super().to_python(value)


def holds_an_oversized_number(values: list[Any]) -> bool:
    """Whether one of ``values`` (a decoded cursor position, say) is a number past a BIGINT.

    Floats count: JSON numbers past 64 bits decode as floats, and ``int()`` makes them huge
    ints again.
    """
    return any(
        isinstance(value, int | float) and not MIN_INT64 <= value <= MAX_INT64 for value in values
    )


def init_app(app: Flask) -> None:
    """Make ``<int:...>`` bounded for every route added from now on.

    A rule is bound to its converter when it is added, so this must run before any blueprint
    is registered; a route already added with werkzeug's own converter is a wiring mistake,
    said at start-up rather than found by a fuzzer.
    """
    unbounded = [
        rule.rule
        for rule in app.url_map.iter_rules()
        for converter in rule._converters.values()
        if isinstance(converter, IntegerConverter)
        and not isinstance(converter, BoundedIntConverter)
    ]
    if unbounded:
        raise RuntimeError(
            "routes added before loom_common.flask_app.init_app keep an unbounded <int:> "
            f"converter ({', '.join(unbounded)}); call init_app before registering blueprints"
        )
    app.url_map.converters["int"] = BoundedIntConverter
