"""One runnable module per sweep (`python -m sweeps.NAME`), each a short `Sweep` declaration over
the shared runner in sweeps.runner.run."""
