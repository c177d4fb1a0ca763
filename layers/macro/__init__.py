"""Macro scale: tiers of innovation centres among cities and regions (sections 2.1 and 3)."""
