"""Users."""

from users.store import fetch_user, fetch_users

__all__ = ["fetch_user", "fetch_users"]
