"""Where users live."""

_USERS = {1: {"id": 1, "name": "ada lovelace"}, 2: {"id": 2, "name": "linus"}}


def get_user(user_id: int) -> dict:
    try:
        return dict(_USERS[user_id])
    except KeyError:
        raise LookupError(f"no user {user_id}") from None


def get_users(ids: list[int]) -> list[dict]:
    return [get_user(i) for i in ids]
