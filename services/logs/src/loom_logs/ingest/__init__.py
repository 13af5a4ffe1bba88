"""How records come in: over HTTP (Loom's JSON, GELF, Loki push) and the GELF UDP/TCP listener,
each body read within its limits, each record checked by intake and published to the logs queue.
A new input (OTLP, syslog, Elasticsearch bulk) is one more module here."""
