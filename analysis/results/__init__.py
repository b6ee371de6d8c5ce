"""The results pipeline: Ray trial folders -> Parquet tables -> statistics, references, plots and report.md."""
