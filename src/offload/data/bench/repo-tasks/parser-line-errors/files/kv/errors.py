"""Errors of the kv package."""
