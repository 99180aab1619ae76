"""Where users live."""

_USERS = {1: {"id": 1, "name": "ada lovelace"}, 2: {"id": 2, "name": "linus"}}


def fetch_user(user_id: int) -> dict:
    try:
        return dict(_USERS[user_id])
    except KeyError:
        raise LookupError(f"no user {user_id}") from None


def fetch_users(ids: list[int]) -> list[dict]:
    return [fetch_user(i) for i in ids]
