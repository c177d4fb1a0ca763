"""Meso scale: innovation centres inside a metropolitan region (section 2.2 of Zhang 2022)."""
