"""Batch experiments: sweep designs, seeds, executors, resumable store, summaries."""
