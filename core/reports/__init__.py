"""Run records into CSV, figures, statistics and markdown tables."""
