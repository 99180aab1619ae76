"""Text for the web site."""
