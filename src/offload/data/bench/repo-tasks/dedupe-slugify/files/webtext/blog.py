"""Blog URLs."""

import re


def _slug(title: str) -> str:
    return re.sub(r"\s+", "-", title.strip().lower())


def post_url(title: str) -> str:
    return f"/blog/{_slug(title)}/"
