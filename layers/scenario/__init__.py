"""Scenario files: a whole run described in one TOML or YAML file."""
