"""Command-line interface: the single `gridbot` entry point."""
