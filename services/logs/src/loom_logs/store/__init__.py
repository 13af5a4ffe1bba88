"""Where records are kept: checking a record, its day partition, storing a batch once, retention."""
