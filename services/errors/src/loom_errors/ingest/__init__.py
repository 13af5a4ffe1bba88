"""Taking events in: the Sentry endpoints, envelopes, DSN auth and per-project rate limits."""
