from loom_common.migrations import run_migrations
from loom_worker.models import Base

run_migrations(Base.metadata)
