"""Outputs shared by every scale: run summaries and the HTML report."""
