"""The jobs themselves, one module per concern; each declares itself in the registry.

They are plain functions of (validated arguments, context), so tests call them without a broker.
"""

from loom_worker.jobs import digest, emails, exports, greet, maintenance

__all__ = ["digest", "emails", "exports", "greet", "maintenance"]
