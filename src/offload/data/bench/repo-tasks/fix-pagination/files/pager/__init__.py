"""Split lists into pages."""

from pager.core import page, page_count
from pager.render import render

__all__ = ["page", "page_count", "render"]
