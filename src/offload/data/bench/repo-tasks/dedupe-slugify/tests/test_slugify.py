import inspect
import re

import pytest

import webtext.blog
import webtext.wiki
from webtext.text import slugify


@pytest.mark.parametrize("text,slug", [
    ("Hello, World!", "hello-world"),
    ("  Crème brûlée  ", "creme-brulee"),
    ("C'est la vie -- 2024", "c-est-la-vie-2024"),
    ("日本語", "untitled"),
    ("", "untitled"),
    ("a" * 59 + " b", "a" * 59),
    ("x" * 70, "x" * 60),
    ("Already-a-slug", "already-a-slug"),
])
def test_slugify(text, slug):
    assert slugify(text) == slug


def test_blog_and_wiki_use_it():
    assert webtext.blog.post_url("Crème brûlée!") == "/blog/creme-brulee/"
    assert webtext.wiki.page_path("Main Page") == "wiki/main-page.md"
    for module in (webtext.blog, webtext.wiki):
        source = inspect.getsource(module)
        assert not re.search(r"def \w*slug", source), module.__name__
        assert "slugify" in source
