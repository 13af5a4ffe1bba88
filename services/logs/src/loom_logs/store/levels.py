"""Log level names and the numbers that order them (loguru's standard levels).

Stored records keep both: the name as sent, and its number, so that "at least WARNING" is a
plain ``level_no >= 30`` filter.
"""

from __future__ import annotations

from typing import Literal

from loom_common.log_records import LEVEL_NUMBERS

__all__ = ["LEVEL_NUMBERS", "LevelName", "level_number"]

LevelName = Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"]

# A custom loguru level arrives by name only (the contract carries no number); ranking it as
# INFO keeps it visible under the usual filters instead of dropping it.
UNKNOWN_LEVEL_NUMBER = LEVEL_NUMBERS["INFO"]


def level_number(name: str) -> int:
    """The number of a level name (any case); unknown names rank as INFO."""
    return LEVEL_NUMBERS.get(name.upper(), UNKNOWN_LEVEL_NUMBER)
