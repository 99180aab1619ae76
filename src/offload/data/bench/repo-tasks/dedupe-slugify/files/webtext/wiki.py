"""Wiki paths."""


def make_slug(title: str) -> str:
    out = "".join(ch if ch.isalnum() else "_" for ch in title.lower())
    return out.strip("_") or "page"


def page_path(title: str) -> str:
    return f"wiki/{make_slug(title)}.md"
