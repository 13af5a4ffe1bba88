"""Projects and their DSN keys: what the API, the pages and the CLI call, and how they are shown."""
