"""The JSON API's blueprints (ingest's and live tail's live with their concern)."""
