"""Argument types the job models share."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, EmailStr, Field, StringConstraints


def _web_link(value: str) -> str:
    # Links end up in an href: only http(s), never javascript: or data:.
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


# One line of text (it may end up in a Subject header, where a newline would inject headers).
Line = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\r\n]*$")]
Recipient = EmailStr
WebLink = Annotated[str, Field(min_length=8, max_length=2000), AfterValidator(_web_link)]
