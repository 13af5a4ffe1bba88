"""Keeping events: preparing, grouping and scrubbing them, and storing a batch in one transaction."""
