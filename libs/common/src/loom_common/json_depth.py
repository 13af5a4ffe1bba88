"""How deeply a parsed JSON value nests, checked before anything recursive touches it.

orjson parses far deeper documents than it will encode again (it refuses past 254 levels),
and Python code walking a value recursively (scrubbers, validators) hits the recursion limit
near 1,000: a body that parses may still fail later, at publish or at store, as a 500 or a
lost message. Checking the depth right after parsing turns that into a clear refusal.
"""

from __future__ import annotations

from typing import Any

# Far beyond what SDKs send (sentry-sdk trims its data bags at 5-10 levels), well inside
# what orjson encodes and what Python recursion allows.
MAX_JSON_DEPTH = 100


def nests_deeper_than(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True if ``value`` has objects or arrays more than ``limit`` levels deep.

    A scalar is 0 levels deep, ``{}`` and ``[]`` one, ``{"a": []}`` two. Walks with an
    explicit stack, so a deep value cannot exhaust Python's own.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
