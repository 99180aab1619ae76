"""Users."""

from users.store import get_user, get_users

__all__ = ["get_user", "get_users"]
