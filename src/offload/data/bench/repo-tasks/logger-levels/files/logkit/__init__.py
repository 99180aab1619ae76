"""Logging, simply."""
