"""Bags of items."""
