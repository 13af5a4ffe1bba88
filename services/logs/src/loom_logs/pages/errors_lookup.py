"""The errors service's issues for one request id, for the request page's links.

Asked server to server with the operator token (``GET /api/issues?request_id=``) and a short
timeout: the page must render when the errors service is slow or down, then without the
links and saying so. The standard library's HTTP client is enough for one GET.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from loguru import logger

TIMEOUT = 2.0  # seconds; the page waits this long at most
SHOWN = 10


@dataclass(frozen=True)
class IssueLink:
    title: str
    url: str  # the issue's page in the errors UI


def issues_for_request(errors_url: str, token: str, request_id: str) -> list[IssueLink] | None:
    """The issues with an event of ``request_id``; None when the errors service did not answer."""
    query = urllib.parse.urlencode({"request_id": request_id, "limit": SHOWN})
    asked = urllib.request.Request(
        f"{errors_url}/api/issues?{query}", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(asked, timeout=TIMEOUT) as response:
            items = json.load(response)["items"]
        return [
            IssueLink(title=item["title"], url=f"{errors_url}/issues/{item['id']}")
            for item in items
        ]
    except (OSError, ValueError, KeyError, TypeError) as error:
        # urllib's errors are OSErrors; a reply that is not the expected JSON is a ValueError
        # or a missing key. Either way the page goes on without the links.
        logger.warning("could not ask the errors service about request {}: {}", request_id, error)
        return None
