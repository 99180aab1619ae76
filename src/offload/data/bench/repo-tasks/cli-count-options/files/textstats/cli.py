"""The textstats command."""

import argparse

from textstats.counting import count_chars, count_words


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textstats")
    parser.add_argument("path")
    parser.add_argument("--chars", action="store_true", help="count characters instead of words")
    return parser


def main(argv: list[str] | None = None) -> str:
    args = build_parser().parse_args(argv)
    with open(args.path, encoding="utf-8") as fh:
        text = fh.read()
    if args.chars:
        result = f"chars: {count_chars(text)}"
    else:
        result = f"words: {count_words(text)}"
    print(result)
    return result
