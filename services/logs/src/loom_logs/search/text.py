"""The ``q`` parameter: words and "quoted phrases", every one of which must match the message.

On SQLite the day's FTS5 index answers (a word matches words that start with it, a phrase
matches those words in that order). On PostgreSQL each term is a case-insensitive substring
(ILIKE), answered by a pg_trgm GIN index for terms of three characters or more.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Table, and_, select, text
from sqlalchemy.sql import column, table

from loom_logs.store.partitions import fts_table_name

_TERM = re.compile(r'"([^"]*)"|(\S+)')


def parse_terms(query: str) -> list[tuple[str, bool]]:
    """``(term, is_phrase)`` pairs; an unclosed quote is read as part of a word."""
    terms = []
    for match in _TERM.finditer(query):
        phrase, word = match.group(1), match.group(2)
        if phrase is not None:
            if phrase.strip():
                terms.append((" ".join(phrase.split()), True))
        elif word.strip('"'):
            terms.append((word.strip('"'), False))
    return terms


def fts5_query(terms: list[tuple[str, bool]]) -> str:
    """An FTS5 MATCH expression: each term a quoted string (so no FTS operators leak in)."""
    parts = []
    for term, is_phrase in terms:
        quoted = '"' + term.replace('"', '""') + '"'
        parts.append(quoted if is_phrase else quoted + "*")
    return " AND ".join(parts)


def has_searchable_text(term: str) -> bool:
    # FTS5 drops punctuation; a term of punctuation only would be an FTS5 syntax error.
    return any(character.isalnum() for character in term)


def message_matches(
    logs: Table, query: str, dialect: str, id_bounds: tuple[int, int] | None = None
) -> ColumnElement[bool] | None:
    """A WHERE clause for ``q`` on ``logs``, or None when ``q`` holds no terms.

    ``id_bounds``: on SQLite, the lowest and highest id the rows sought can have (see
    :mod:`loom_logs.store.id_bounds`), so that the full-text index looks only there.
    """
    terms = parse_terms(query)
    if not terms:
        return None
    if dialect == "sqlite":
        indexed = [(term, phrase) for term, phrase in terms if has_searchable_text(term)]
        unindexed = [term for term, _ in terms if not has_searchable_text(term)]
        clauses: list[ColumnElement[bool]] = [
            logs.c.message.contains(term, autoescape=True) for term in unindexed
        ]
        if indexed:
            fts_name = fts_table_name(logs)
            fts = table(fts_name, column("rowid"))
            match = text(f'"{fts_name}" MATCH :fts_query').bindparams(fts_query=fts5_query(indexed))
            matching = select(fts.c.rowid).where(match)
            if id_bounds is not None:
                matching = matching.where(fts.c.rowid.between(*id_bounds))
            clauses.append(logs.c.id.in_(matching))
        return and_(*clauses)
    return and_(*(logs.c.message.icontains(term, autoescape=True) for term, _ in terms))
