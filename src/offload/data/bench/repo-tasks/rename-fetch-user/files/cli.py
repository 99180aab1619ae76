"""Command line: print a user's name."""

import sys

import users


def main(argv: list[str] | None = None) -> str:
    args = sys.argv[1:] if argv is None else argv
    user = users.fetch_user(int(args[0]))
    print(user["name"])
    return user["name"]
