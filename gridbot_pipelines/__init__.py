"""Dagster definitions for gridbot."""
