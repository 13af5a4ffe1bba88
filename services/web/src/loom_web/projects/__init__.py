"""The task tracker: projects, their members and tasks, by layer.

``snapshots`` (the typed project the cache holds), ``rules`` (who may see or change what: pure
functions), ``queries`` (SQLAlchemy reads and writes), ``cache`` (the read-through cache),
``services`` (the use cases the pages and the API call), then the HTTP side: ``pages`` and
``page_body``; ``exports`` and ``links`` talk to the worker.
"""
