"""Cities on a sphere."""
