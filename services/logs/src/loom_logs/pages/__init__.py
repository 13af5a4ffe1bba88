"""The operator pages: search with its chart, one request across services, the page's live tail,
and how they show a record's values."""
