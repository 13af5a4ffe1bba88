"""JSON request bodies parsed with a bound on nesting, for every way a view reads one.

A document nested a few thousand levels deep is a few kilobytes, yet it makes Python's own
``json`` (what ``request.get_json`` uses by default) raise ``RecursionError``, and anything
that walks the result afterwards (validation, error capture, the message encoder) too.
No Loom API takes anything close to :data:`MAX_JSON_DEPTH` levels, so deeper bodies are
refused as malformed (a ``ValueError``, as Flask expects from a JSON provider).
"""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

from loom_common.json_depth import MAX_JSON_DEPTH, nests_deeper_than


class JsonTooDeep(ValueError):
    pass


def loads_bounded(data: str | bytes) -> Any:
    """Parse ``data``; ``orjson.JSONDecodeError`` (a ``ValueError``) if it is not JSON,
    :class:`JsonTooDeep` if it nests deeper than :data:`MAX_JSON_DEPTH`."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        if "depth limit" in str(error):  # orjson's own bound, at 1024
            raise JsonTooDeep(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
        raise
    if nests_deeper_than(document, MAX_JSON_DEPTH):
        raise JsonTooDeep(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return document


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider (``app.json``) with :func:`loads_bounded` for parsing."""

    def loads(self, s: str | bytes, **_kwargs: Any) -> Any:
        return loads_bounded(s)
