"""The JSON API: its blueprints (``/api`` greetings, ``/api/v1`` tokens, projects, internal),
who is calling (``callers``), personal tokens (``tokens``) and the models (``schemas``)."""
