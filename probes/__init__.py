"""Linear probes, control tasks, causal tracing and `locate`: not implemented yet (issue 3)."""
