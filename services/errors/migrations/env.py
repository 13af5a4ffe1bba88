from loom_common.migrations import run_migrations
from loom_errors.models import Base

run_migrations(Base.metadata)
