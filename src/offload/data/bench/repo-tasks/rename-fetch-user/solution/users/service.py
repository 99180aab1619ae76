"""What the app does with users."""

from users.store import get_user, get_users


def display_name(user_id: int) -> str:
    return get_user(user_id)["name"].title()


def roster(ids: list[int]) -> str:
    return ", ".join(u["name"] for u in get_users(ids))
