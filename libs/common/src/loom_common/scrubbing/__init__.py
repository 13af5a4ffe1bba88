"""The one scrubber for what Loom stores, logs or sends: error events, job records, log records.

One entry point per shape:

- :func:`scrub_event` — a JSON-like value (an error event, a job's arguments or result);
- :func:`scrub_fields` — a dict of named values (a log record's fields);
- :func:`scrub_text` — free text (a log message, an exception's text, a URL).

Each returns a scrubbed copy and leaves its argument untouched; what is hidden becomes
``[Filtered]`` (:data:`FILTERED`, as sentry-sdk writes it). :func:`is_secret_key` says
which names hold secrets.
"""

from loom_common.scrubbing.secret_keys import FILTERED, is_secret_key
from loom_common.scrubbing.text import scrub_text
from loom_common.scrubbing.values import scrub_event, scrub_fields

__all__ = ["FILTERED", "is_secret_key", "scrub_event", "scrub_fields", "scrub_text"]
