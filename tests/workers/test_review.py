"""Review pre-filter: numbered segments, diff parsing, finding validation with repair, escalation marks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offload.errors import InvalidRequest
from offload.workers.review import diff_segments, file_segments, git_diff, review
from tests.workers.conftest import Rig

CODE = "def div(a, b):\n    return a / b\n\n\ndef read(path):\n    return open(path).read()\n"
DIFF = """diff --git a/calc.py b/calc.py
index 1111111..2222222 100644
--- a/calc.py
+++ b/calc.py
@@ -1,3 +1,4 @@
 def div(a, b):
-    return a / b
+    # no guard
+    return a / b
<SP>
@@ -10,2 +11,2 @@ def other():
-    x = 1
+    x = 2
     return x
diff --git a/new.py b/new.py
new file mode 100644
--- /dev/null
+++ b/new.py
@@ -0,0 +1,2 @@
+import os
+print(os.environ)
""".replace("<SP>", " ")


def finding(file: str, line: int, severity: str = "medium", confidence: float = 0.9, **kw: Any) -> dict[str, Any]:
    return {"file": file, "line": line, "severity": severity, "category": kw.get("category", "bug"),
            "message": kw.get("message", "division by zero"), "suggestion": "guard b == 0", "confidence": confidence}  # fmt: skip


def test_file_segments_are_numbered(tmp_path: Path) -> None:
    f = tmp_path / "calc.py"
    f.write_text(CODE)
    (seg,) = file_segments([f])
    assert seg.lines == frozenset(range(1, 7))
    assert "    2 |     return a / b" in seg.text


def test_diff_segments_use_new_file_line_numbers() -> None:
    calc, new = diff_segments(DIFF)
    assert calc.path == "calc.py" and new.path == "new.py"
    assert {2, 3} <= calc.lines and 11 in calc.lines and 12 in calc.lines
    assert "    3 +     return a / b" in calc.text and "      -     return a / b" in calc.text
    assert new.lines == frozenset({1, 2})


def test_plain_diff_without_git_headers() -> None:
    plain = "--- a.py\t2024-01-01\n+++ a.py\t2024-01-02\n@@ -1 +1 @@\n-x = 1\n+x = 2\n--- b.py\n+++ b.py\n@@ -1 +1,2 @@\n y\n+z\n"
    a, b = diff_segments(plain)
    assert (a.path, sorted(a.lines)) == ("a.py", [1]) and (b.path, sorted(b.lines)) == ("b.py", [1, 2])


async def test_findings_are_validated_and_marked(rig: Rig, tmp_path: Path) -> None:
    f = tmp_path / "calc.py"
    f.write_text(CODE)
    name = str(f)
    wrong = {"findings": [finding(name, 99)]}
    right = {"findings": [finding(name, 2), finding(name, 6, "high", category="error_handling", message="unclosed file"),
                          finding(name, 5, "low", confidence=0.3, category="style", message="maybe rename")]}  # fmt: skip
    rig.script(small=[json.dumps(wrong)], big=[json.dumps(right)])  # the review rule escalates without repair
    result = await review(rig.engine, file_segments([f]))
    assert len(rig.small.requests) == 1 and len(rig.big.requests) == 1
    assert [(x.line, x.severity, x.needs_escalation) for x in result.findings] == [
        (6, "high", True), (2, "medium", False), (5, "low", True),
    ]  # fmt: skip
    assert len(result.escalations) == 2


async def test_diff_review_rejects_findings_outside_the_hunks(rig: Rig) -> None:
    outside = {"findings": [finding("calc.py", 30)]}
    inside = {"findings": [finding("new.py", 2, "high", category="security", message="prints secrets")]}
    rig.script(small=[json.dumps(outside)], big=[json.dumps(inside)])
    result = await review(rig.engine, diff_segments(DIFF))
    assert result.findings[0].file == "new.py" and result.findings[0].needs_escalation


async def test_clean_code_may_have_no_findings(rig: Rig, tmp_path: Path) -> None:
    f = tmp_path / "ok.py"
    f.write_text("X = 1\n")
    rig.script(small=['{"findings": []}'])
    assert (await review(rig.engine, file_segments([f]))).findings == []


def test_missing_file_and_empty_input(tmp_path: Path, rig: Rig) -> None:
    with pytest.raises(InvalidRequest, match="does not exist"):
        file_segments([tmp_path / "nope.py"])
    with pytest.raises(InvalidRequest, match="nothing to review"):
        rig.run(review(rig.engine, []))


def test_git_diff_outside_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="git diff"):
        git_diff(None, cwd=tmp_path)
    with pytest.raises(InvalidRequest, match="not a git revision"):
        git_diff("--output=/tmp/x")
