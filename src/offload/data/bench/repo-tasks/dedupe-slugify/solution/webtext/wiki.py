"""Wiki paths."""

from webtext.text import slugify


def page_path(title: str) -> str:
    return f"wiki/{slugify(title)}.md"
