"""The sandbox: hostile code ends as a clean, reported failure within its limits."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import uuid
from pathlib import Path

import pytest

from offload.errors import SandboxError
from offload.routing.sandbox import isolation, run_command, run_command_async, run_python, run_python_async


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(entry.name))
    return found


def test_plain_code_runs_and_reports_output() -> None:
    result = run_python("import sys\nprint('out')\nprint('err', file=sys.stderr)\nraise SystemExit(3)", timeout_s=10)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert result.killed_reason is None and not result.timed_out and not result.truncated
    assert not result.ok


def test_files_are_written_and_the_directory_is_removed() -> None:
    code = "import os\nprint(os.getcwd())\nprint(open('pkg/data.txt').read())\nimport helper\nprint(helper.X)"
    result = run_python(code, timeout_s=10, files={"pkg/data.txt": "hello", "helper.py": "X = 42\n"})
    cwd, data, value = result.stdout.split("\n")[:3]
    assert result.ok and (data, value) == ("hello", "42")
    assert not Path(cwd).exists()


@pytest.mark.parametrize("name", ["/etc/passwd", "../escape.py", "a/../../b", ".offload_boot.py"])
def test_file_names_outside_the_directory_are_refused(name: str) -> None:
    with pytest.raises(SandboxError, match="not allowed"):
        run_python("pass", timeout_s=5, files={name: "x"})


def test_environment_is_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFLOAD_TEST_SECRET", "s3cr3t")
    result = run_python("import os\nprint(sorted(os.environ))\nprint(os.environ['HOME'] == os.getcwd())", timeout_s=10)
    assert "OFFLOAD_TEST_SECRET" not in result.stdout and "s3cr3t" not in result.stdout
    assert result.stdout.splitlines()[1] == "True"


def test_infinite_loop_is_killed_at_the_timeout() -> None:
    result = run_python("while True:\n    pass", timeout_s=1)
    assert result.timed_out and result.killed_reason == "timeout" and not result.ok
    assert "timed out" in result.describe()


def test_closing_the_pipes_does_not_end_the_watch() -> None:
    result = run_python("import os\nos.close(1)\nos.close(2)\nwhile True:\n    pass", timeout_s=1)
    assert result.killed_reason == "timeout"


def test_python_fork_bomb_is_refused() -> None:
    result = run_python("import os\nwhile True:\n    os.fork()", timeout_s=5)
    assert not result.ok and "os.fork is not allowed" in result.stderr


@pytest.mark.parametrize(
    "code",
    [
        "import subprocess\nsubprocess.run(['sh', '-c', 'echo hi'])",
        "import os\nos.system('echo hi')",
        "import os\nos.posix_spawn('/bin/true', ['true'], {})",
        "import multiprocessing\nmultiprocessing.Process(target=print).start()",
        "import ctypes\nctypes.CDLL(None).fork()",
    ],
)
def test_other_ways_to_start_processes_are_refused(code: str) -> None:
    result = run_python(code, timeout_s=10)
    # Refused by the audit hook ("PermissionError: sandbox: ..."), or — when offload runs as root and the
    # sandbox switched to an unprivileged user — the module needed for it cannot even be loaded.
    assert not result.ok and ("PermissionError: sandbox:" in result.stderr or "ModuleNotFoundError" in result.stderr)
    assert "hi" not in result.stdout


def test_huge_output_is_capped_while_reading() -> None:
    result = run_python(
        "import sys\nwhile True:\n    sys.stdout.write('x' * 1_000_000)", timeout_s=20, output_cap=10_000
    )
    assert result.killed_reason == "output" and result.truncated
    assert len(result.stdout) == 10_000


def test_hundred_megabytes_of_output() -> None:
    result = run_python("print('y' * 100_000_000)", timeout_s=20)
    assert result.truncated and result.killed_reason == "output" and len(result.stdout) == 64_000


@pytest.fixture
def listener() -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    yield server
    server.close()


def _accepted(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def test_python_cannot_open_a_socket(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    code = f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')"
    result = run_python(code, timeout_s=10)
    assert not result.ok and "connected" not in result.stdout
    assert "network access is not allowed" in result.stderr or "not allowed" in result.stderr
    assert not _accepted(listener)


def test_commands_have_no_network_when_namespaces_work(listener: socket.socket) -> None:
    if not isolation().network_namespace:
        pytest.skip("unshare does not work here: commands rely on the process limits only")
    port = listener.getsockname()[1]
    result = run_command(f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected", timeout_s=10)
    if "/dev/tcp" in result.stderr and "No such file" in result.stderr:
        pytest.skip("this /bin/sh has no /dev/tcp")
    assert "connected" not in result.stdout
    assert not _accepted(listener)


def test_writes_outside_the_directory_are_refused() -> None:
    targets = [Path.home() / f"offload-sbx-{uuid.uuid4().hex}", Path("/tmp") / f"outside-{uuid.uuid4().hex}"]
    attempts = [
        "open(T, 'w').write('x')",
        "open(T, 'a').write('x')",
        "os.close(os.open(T, os.O_CREAT | os.O_WRONLY))",
        "pathlib.Path(T).write_text('x')",
        "open('inside', 'w').close(); os.rename('inside', T)",
        "os.symlink('/tmp', 'link'); open('link/' + os.path.basename(T), 'w').write('x')",
        "os.mkdir(T)",
    ]
    lines = ["import os, pathlib"]
    for target in targets:
        for attempt in attempts:
            lines += [f"T = {str(target)!r}", "try:", f"    {attempt}", "    print('WROTE', T)",
                      "except PermissionError as exc:", "    print('refused:', exc)"]  # fmt: skip
    result = run_python("\n".join(lines), timeout_s=20)
    assert result.ok and "WROTE" not in result.stdout
    assert result.stdout.count("writing outside the sandbox directory is not allowed") == len(targets) * len(attempts)
    assert not any(t.exists() for t in targets)


def test_writing_the_sandbox_home_is_fine() -> None:
    result = run_python(
        "import os\nopen(os.path.expanduser('~/x'), 'w').write('ok')\nprint(open('x').read())", timeout_s=10
    )
    assert result.ok and result.stdout == "ok\n"


def test_the_users_files_cannot_be_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / ".env"
    secret.write_text("API_KEY=abc")
    monkeypatch.chdir(tmp_path)  # the caller's working directory counts as the user's files
    result = run_python(f"print(open({str(secret)!r}).read())", timeout_s=10)
    assert "abc" not in result.stdout and "reading the user's files is not allowed" in result.stderr


def test_memory_hog_is_stopped() -> None:
    result = run_python("x = bytearray(4 * 1024 ** 3)", timeout_s=10, memory_mb=256)
    assert result.killed_reason == "memory" and not result.ok


def test_gradual_memory_growth_is_stopped() -> None:
    result = run_python("chunks = []\nwhile True:\n    chunks.append(bytearray(10 ** 7))", timeout_s=20, memory_mb=256)
    assert result.killed_reason == "memory"


def test_file_size_is_limited() -> None:
    result = run_python("open('big', 'wb').write(b'0' * (100 * 1024 * 1024))", timeout_s=20)
    assert not result.ok and "File too large" in result.stderr


def test_whole_process_group_is_killed() -> None:
    marker = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 10**6}"
    # the child starts a sleeping grandchild in the background, then blocks itself
    result = run_command(f"sleep {marker} & sleep {marker}; echo never", timeout_s=1)
    assert result.killed_reason == "timeout" and "never" not in result.stdout
    assert _processes_with(f"sleep\x00{marker}") == []


def test_grandchildren_left_behind_after_a_normal_exit_are_killed() -> None:
    marker = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 10**6}"
    result = run_command(f"(sleep {marker} > /dev/null 2>&1 &) ; echo done", timeout_s=10)
    assert result.ok and result.stdout == "done\n"
    assert _processes_with(f"sleep\x00{marker}") == []


def test_escaping_with_setsid_does_not_survive_when_pid_namespaces_work() -> None:
    if not isolation().pid_namespace:
        pytest.skip("no PID namespace here")
    marker = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 10**6}"
    run_command(f"setsid sleep {marker} > /dev/null 2>&1 < /dev/null & sleep 30", timeout_s=1)
    assert _processes_with(f"sleep\x00{marker}") == []


def test_command_sees_its_files_and_reports_failure() -> None:
    result = run_command("cat solution.py; exit 4", timeout_s=10, files={"solution.py": "print(1)\n"})
    assert result.exit_code == 4 and result.stdout == "print(1)\n" and not result.ok


def test_cancel_event_stops_the_run() -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    result = run_python("while True:\n    pass", timeout_s=30, cancel=cancel)
    assert result.killed_reason == "cancelled" and not result.timed_out


async def test_async_twins() -> None:
    result = await run_python_async("print(6 * 7)", timeout_s=10)
    assert result.ok and result.stdout == "42\n"
    result = await run_command_async("echo hi", timeout_s=10)
    assert result.ok and result.stdout == "hi\n"


async def test_cancelling_the_async_run_kills_the_process() -> None:
    marker = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 10**6}"
    task = asyncio.create_task(run_command_async(f"sleep {marker}", timeout_s=60))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(50):  # the worker thread notices the cancellation within its poll interval
        if not _processes_with(f"sleep\x00{marker}"):
            break
        await asyncio.sleep(0.1)
    assert _processes_with(f"sleep\x00{marker}") == []


def test_bad_timeout_is_an_error() -> None:
    with pytest.raises(SandboxError, match="positive"):
        run_python("pass", timeout_s=0)
