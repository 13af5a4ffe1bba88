from loom_common.migrations import run_migrations
from loom_logs.models import Base

# The record tables (the partitioned parent, one per day, their FTS5 indexes) are made by hand
# in the revisions and by loom_logs.store.partitions at run time; autogenerate must leave them alone.
run_migrations(Base.metadata, exclude_tables=frozenset({"log_records"}))
