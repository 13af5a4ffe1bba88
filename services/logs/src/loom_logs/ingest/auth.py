"""Who may send logs: the operator token or one of ``LOOM_LOGS_INGEST_TOKENS``.

Log clients authenticate as they can: ``Authorization: Bearer <token>``, HTTP basic auth with
the token as the password (python-logging-loki, Promtail), or ``?token=<token>`` in the URL
for clients that cannot set a header (graypy's HTTP handler takes only a path).
"""

from __future__ import annotations

import hmac

from flask import current_app, request

from loom_common.api_errors import ApiError
from loom_common.auth import bearer_token
from loom_logs.config import LogsConfig


def _presented_token() -> str | None:
    token = bearer_token()
    if token:
        return token
    if request.authorization is not None and request.authorization.type == "basic":
        return request.authorization.password or None
    return request.args.get("token") or None


def _known(token: str, config: LogsConfig) -> bool:
    operator: str = current_app.config["LOOM_API_TOKEN"]
    candidates = [operator, *config.ingest_token_list]
    # Compare against every candidate, so the time taken says nothing about which matched.
    matches = [hmac.compare_digest(token.encode(), known.encode()) for known in candidates]
    return any(matches)


def require_ingest_token(config: LogsConfig) -> None:
    """Raise 401 unless the request carries a token allowed to send logs."""
    token = _presented_token()
    if token is None:
        raise ApiError(
            401,
            "missing ingest token: send 'Authorization: Bearer <token>', basic auth, or ?token=",
            code="unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="loom-logs"'},
        )
    if not _known(token, config):
        raise ApiError(401, "invalid ingest token", code="unauthorized")
