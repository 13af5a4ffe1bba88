"""The web app's API as the worker calls it, with the operator token."""

from __future__ import annotations

from typing import Any

import requests

from loom_common.request_context import current_request_id
from loom_common.settings import Settings

TIMEOUT_SECONDS = 15.0


class WebUnavailable(Exception):
    """The web app did not answer usefully; the job retries."""


class WebClient:
    def __init__(self, settings: Settings) -> None:
        self.base_url = settings.service_url("web")
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {settings.api_token.get_secret_value()}"

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {}
        request_id = current_request_id()
        if request_id:
            headers["X-Request-ID"] = request_id
        url = self.base_url + path
        try:
            response = self._session.request(
                method, url, headers=headers, timeout=TIMEOUT_SECONDS, **kwargs
            )
        except requests.RequestException as error:
            raise WebUnavailable(f"{method} {path}: {type(error).__name__}") from None
        if response.status_code >= 400:
            raise WebUnavailable(f"{method} {path} answered {response.status_code}")
        try:
            return response.json() if response.content else None
        except ValueError:
            raise WebUnavailable(f"{method} {path} answered something that is not JSON") from None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._request("GET", path, params=params)

    def post(self, path: str, json: Any = None) -> Any:
        return self._request("POST", path, json=json)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> WebClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
