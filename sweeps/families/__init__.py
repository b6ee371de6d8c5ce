"""Settings and references shared by the sweeps of one source family (one module per family)."""
