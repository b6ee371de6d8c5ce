"""The machinery that turns a sweep declaration into a Tune run, Parquet tables, plots and a report."""
