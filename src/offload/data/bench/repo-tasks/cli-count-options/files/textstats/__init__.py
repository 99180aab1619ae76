"""Counting text."""
