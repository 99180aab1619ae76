"""Atomic output: complete files or none, never a torn write; one writer per file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from offload.errors import InvalidRequest
from offload.workers import atomic


def test_write_replaces_whole_files_and_keeps_the_mode(tmp_path: Path) -> None:
    f = tmp_path / "out.txt"
    atomic.write_text(f, "one\n")
    os.chmod(f, 0o640)
    atomic.write_text(f, "two\n")
    assert f.read_text() == "two\n" and stat.S_IMODE(f.stat().st_mode) == 0o640
    atomic.write_bytes(tmp_path / "key", b"k", mode=0o600)
    assert stat.S_IMODE((tmp_path / "key").stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "out.txt"
    f.write_text("old\n")

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(InvalidRequest, match="No space left"):
        atomic.append_lines(f, ["new"])
    assert f.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_append_completes_a_missing_newline(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_text('{"a": 1}')
    atomic.append_lines(f, ['{"a": 2}', '{"a": 3}\n'])
    assert f.read_text() == '{"a": 1}\n{"a": 2}\n{"a": 3}\n'


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="does not exist"):
        atomic.write_text(tmp_path / "no" / "such" / "file", "x")


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    f = tmp_path / "users.jsonl"
    with atomic.exclusive(f):
        assert (tmp_path / "users.jsonl.lock").exists()
        with pytest.raises(InvalidRequest, match="another offload process"), atomic.exclusive(f):
            pass
    assert not (tmp_path / "users.jsonl.lock").exists()
    with atomic.exclusive(f):
        pass
