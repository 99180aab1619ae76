"""What the bench says to the models: the planner's and the builder's prompts, and the feedback between
iterations. Pure functions of the task, the files and the previous outcome."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "BUILDER_SYSTEM",
    "PLANNER_SYSTEM",
    "build_prompt",
    "plan_prompt",
    "render_files",
    "tail",
]

#: Files larger than this are listed but not shown.
MAX_SHOWN_FILE = 24_000
#: Test output fed back to the model is cut to its last this many characters.
MAX_FEEDBACK = 4_000

BUILDER_SYSTEM = (
    "You are an expert software engineer working in a small code repository. You change the code so that the "
    "task is done and the project's tests pass. Answer with every file you create or change: its path on a line "
    "of its own, then the complete new content of the file in a fenced code block. Write whole files, never "
    "diffs or fragments, and keep everything the file still needs (imports included)."
)

PLANNER_SYSTEM = (
    "You are a senior software engineer. You read a task and a small repository and write a short, concrete "
    "plan for another engineer who will write the code: which files to change or create, and what exactly to "
    "change in each. Do not write the code itself."
)

ANSWER_FORMAT = """Answer format — for each file you change or create, its path and then its whole content:

{path}
```{lang}
<the complete new content of {path}>
```

Leave out files you do not change."""


def tail(text: str, limit: int = MAX_FEEDBACK) -> str:
    """The last ``limit`` characters of ``text`` (marked when cut)."""
    text = text.strip()
    return text if len(text) <= limit else "[... earlier output cut ...]\n" + text[-limit:]


def _lang(path: str) -> str:
    ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return {"py": "python", "md": "markdown", "toml": "toml", "json": "json", "sh": "sh", "txt": "text"}.get(ext, "")


def render_files(files: Mapping[str, str]) -> str:
    """The repository as the model sees it: each file's path, then its content in a fence."""
    if not files:
        return "(the repository is empty)"
    parts = []
    for path in sorted(files):
        text = files[path]
        if len(text) > MAX_SHOWN_FILE:
            parts.append(f"{path}\n(large file: {len(text)} characters, not shown)")
            continue
        fence = "````" if "```" in text else "```"
        body = text if text.endswith("\n") or not text else text + "\n"
        parts.append(f"{path}\n{fence}{_lang(path)}\n{body}{fence}")
    return "\n\n".join(parts)


def plan_prompt(spec: str, files: Mapping[str, str], feedback: str | None) -> str:
    """The planner's prompt: the task, the repository and, after a failed attempt, what went wrong."""
    out = [f"# Task\n\n{spec.strip()}", f"# Repository\n\n{render_files(files)}"]
    if feedback:
        out.append(f"# The previous attempt failed\n\n{feedback}")
    out.append("Write the plan as a short numbered list (at most 10 steps). Name the files. No code.")
    return "\n\n".join(out)


def build_prompt(spec: str, files: Mapping[str, str], feedback: str | None, plan: str | None = None) -> str:
    """The builder's prompt: the task, the repository, the plan (hybrids) and the last attempt's failure."""
    out = [f"# Task\n\n{spec.strip()}", f"# Repository\n\n{render_files(files)}"]
    if plan:
        out.append(f"# Plan to follow\n\n{plan.strip()}")
    if feedback:
        out.append(f"# The previous attempt failed\n\n{feedback}")
    example = next((p for p in sorted(files) if p.endswith(".py")), None) or next(iter(sorted(files)), "app.py")
    out.append(ANSWER_FORMAT.format(path=example, lang=_lang(example)))
    return "\n\n".join(out)


def feedback_failed(output: str) -> str:
    return f"The tests failed. Their output:\n\n```\n{tail(output)}\n```\n\nFix the code so that they pass."


def feedback_malformed() -> str:
    return (
        "Your answer contained no file I could use. Give each file's path on its own line, followed by the "
        "file's complete content in a fenced code block."
    )


def feedback_syntax(errors: list[str]) -> str:
    return "The code does not compile:\n\n```\n" + tail("\n".join(errors)) + "\n```\n\nFix it."


def feedback_timeout(seconds: float) -> str:
    return f"The tests did not finish within {seconds:.0f} seconds: look for an endless loop or very slow code."
