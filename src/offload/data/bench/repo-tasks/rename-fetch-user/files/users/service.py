"""What the app does with users."""

from users.store import fetch_user, fetch_users


def display_name(user_id: int) -> str:
    return fetch_user(user_id)["name"].title()


def roster(ids: list[int]) -> str:
    return ", ".join(u["name"] for u in fetch_users(ids))
