from loom_common.migrations import run_migrations
from loom_logs.models import Base

# The FTS5 index and its shadow tables are made by hand in 0001; autogenerate must not drop them.
run_migrations(Base.metadata, exclude_tables=frozenset({"log_records_fts"}))
