"""The textstats command."""

import argparse

from textstats.counting import count_chars, count_lines, count_words


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textstats")
    parser.add_argument("path")
    parser.add_argument("--lines", action="store_true", help="count lines")
    parser.add_argument("--words", action="store_true", help="count words (the default)")
    parser.add_argument("--chars", action="store_true", help="count characters")
    return parser


def main(argv: list[str] | None = None) -> str:
    args = build_parser().parse_args(argv)
    with open(args.path, encoding="utf-8") as fh:
        text = fh.read()
    if not (args.lines or args.words or args.chars):
        args.words = True
    out = []
    if args.lines:
        out.append(f"lines: {count_lines(text)}")
    if args.words:
        out.append(f"words: {count_words(text)}")
    if args.chars:
        out.append(f"chars: {count_chars(text)}")
    result = "\n".join(out)
    print(result)
    return result
