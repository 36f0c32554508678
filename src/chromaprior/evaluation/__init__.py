"""Evaluation: the metrics, the evaluation loops and their tables and reports."""
