"""Results after a sweep: Ray folders -> Parquet tables -> statistics, plots and report.md; Ray-free,
so a report can be rebuilt from the Parquet files alone."""
