"""A weather service client."""
