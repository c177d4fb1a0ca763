"""Tests of the domain: scales, pipeline, options, commands, scenario files."""
