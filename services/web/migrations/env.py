from loom_common.migrations import run_migrations
from loom_web.models import Base

run_migrations(Base.metadata)
