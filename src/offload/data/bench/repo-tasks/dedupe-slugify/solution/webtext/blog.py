"""Blog URLs."""

from webtext.text import slugify


def post_url(title: str) -> str:
    return f"/blog/{slugify(title)}/"
