"""Objects the logs service's modules share: the API spec and the database accessor."""

from __future__ import annotations

from flask import Flask

from loom_common.db import Database
from loom_common.openapi import make_spec

spec = make_spec("logs")


def database(app: Flask) -> Database:
    db: Database = app.extensions["loom_database"]
    return db
