"""Micro scale: innovation districts inside a city (section 2.3 of Zhang 2022)."""
