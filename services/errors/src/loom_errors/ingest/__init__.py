"""Taking events in: the Sentry endpoints, envelopes, DSN auth, rate limits and body decoding."""
