"""The product web app (HTML pages and the JSON API), grouped by concern.

``accounts/`` people: registering, passwords and their resets, login sessions, rate limits,
the account pages. ``projects/`` the task tracker, by layer: snapshots, rules, queries, cache,
services, then its pages. ``api/`` the JSON API: its blueprints, callers, personal tokens and
schemas. At the top: ``app`` (create_app), ``config``, ``models``, ``extensions``, ``metrics``,
``refusals``.
"""
