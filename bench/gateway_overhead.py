"""How much latency and throughput does the gateway cost? Direct vs through offload vs through LiteLLM's proxy.

One fake OpenAI-compatible upstream (raw ASGI on uvicorn, its own process) answers instantly. The same requests
go (a) straight to it, (b) through ``offload serve`` (an ``openai_compat`` backend pointing at it, journal ON),
(c) through LiteLLM's proxy configured for the same upstream (when ``--litellm PATH`` names its executable;
install it in a separate venv: ``python -m venv /tmp/litellm-venv && /tmp/litellm-venv/bin/pip install
'litellm[proxy]'``). Each server runs in its own process; the load generator is a minimal keep-alive HTTP/1.1
client on asyncio so that it costs the same for every target.

    python bench/gateway_overhead.py [--seconds 3] [--rounds 3] [--floor] [--litellm /tmp/litellm-venv/bin/litellm]

Prints requests/s and latency p50/p99 at concurrency 1 and 32, streaming and not, the latency offload and
LiteLLM add over direct, and the ratios. ``--floor`` adds two reference forwarders (uvicorn + aiohttp, ~30
lines, without and with one fsync'd row per request) that show what any Python gateway pays on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gateway_servers import serve_floor, serve_offload, serve_upstream  # this script's directory

#: The bearer token every target gets (LiteLLM refuses to start without a master key; offload needs none here).
TOKEN = "sk-bench-" + "0123456789abcdef" * 3


# -- the load generator --------------------------------------------------------------------------------
class Conn:
    """One keep-alive HTTP/1.1 connection; reads content-length and chunked bodies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.r: asyncio.StreamReader | None = None
        self.w: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        if self.w is None:
            self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.r is not None
        self.w.write(raw)
        head = await self.r.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        if b"\r\ncontent-length:" in lower:
            n = int(lower.split(b"\r\ncontent-length:", 1)[1].split(b"\r\n", 1)[0])
            await self.r.readexactly(n)
        else:  # chunked
            while True:
                size = int((await self.r.readuntil(b"\r\n")).strip(), 16)
                await self.r.readexactly(size + 2)
                if size == 0:
                    break
        if b"\r\nconnection: close" in lower:
            self.w.close()
            self.w = None
        return status


def http_request(port: int, path: str, body: dict, headers: dict[str, str]) -> bytes:
    data = json.dumps(body).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"host: 127.0.0.1:{port}",
        "content-type: application/json",
        f"content-length: {len(data)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def load(port: int, raw: bytes, concurrency: int, seconds: float) -> tuple[float, list[float], int]:
    """(requests/s, latencies in s, errors) for ``seconds`` of closed-loop load."""
    lat: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        conn = Conn(port)
        while time.perf_counter() < stop:
            t = time.perf_counter()
            try:
                status = await conn.request(raw)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                conn = Conn(port)
                continue
            if status != 200:
                errors += 1
            lat.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(lat) / (time.perf_counter() - t0), lat, errors


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


# -- orchestration ---------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def start(args: list[str], port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(
        args, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_port(port, proc)
    return proc


def litellm_config(upstream: int, tmp: str) -> str:
    path = Path(tmp) / "litellm.yaml"
    path.write_text(
        "model_list:\n  - model_name: bench\n    litellm_params:\n      model: openai/bench\n"
        f"      api_base: http://127.0.0.1:{upstream}/v1\n      api_key: dummy\n"
        "litellm_settings:\n  drop_params: true\n  telemetry: false\n"
    )
    return str(path)


async def run(
    targets: dict[str, tuple[int, str]], seconds: float, rounds: int = 3
) -> dict[tuple[str, bool, int], dict[str, float]]:
    """Measure every cell. Each cell's time is split into ``rounds`` slices that alternate between the targets
    (in a rotating order), so a noisy neighbour on a shared machine hits every target alike; a cell reports the
    median rate over its rounds and the latency percentiles over all its requests."""
    results = {}
    names = list(targets)
    for stream in (False, True):
        for conc in (1, 32):
            raws = {}
            for name, (port, path) in targets.items():
                body = {
                    "model": "bench",
                    "messages": [{"role": "user", "content": "Say hello."}],
                    "max_tokens": 16,
                    "stream": stream,
                }
                raws[name] = http_request(port, path, body, {"authorization": f"Bearer {TOKEN}"})
                await load(port, raws[name], conc, min(1.0, seconds / 3))  # warm-up
            rates: dict[str, list[float]] = {n: [] for n in names}
            lats: dict[str, list[float]] = {n: [] for n in names}
            errors = dict.fromkeys(names, 0)
            for r in range(rounds):
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    rps, lat, errs = await load(targets[name][0], raws[name], conc, seconds / rounds)
                    rates[name].append(rps)
                    lats[name].extend(lat)
                    errors[name] += errs
            for name in names:
                results[(name, stream, conc)] = {
                    "rps": statistics.median(rates[name]),
                    "p50": pct(lats[name], 50) * 1e3,
                    "p99": pct(lats[name], 99) * 1e3,
                    "errors": errors[name],
                }
    return results


def report(results: dict[tuple[str, bool, int], dict[str, float]], names: list[str]) -> None:
    print(
        f"\n{'mode':<10}{'conc':>5}  {'target':<8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'+p50 ms':>9}{'+p99 ms':>9}"
        f"{'×direct':>9}{'errors':>8}"
    )
    for stream in (False, True):
        for conc in (1, 32):
            d = results[("direct", stream, conc)]
            for name in names:
                r = results[(name, stream, conc)]
                add50 = r["p50"] - d["p50"] if name != "direct" else 0.0
                add99 = r["p99"] - d["p99"] if name != "direct" else 0.0
                print(
                    f"{'stream' if stream else 'json':<10}{conc:>5}  {name:<8}{r['rps']:>9.0f}{r['p50']:>9.2f}"
                    f"{r['p99']:>9.2f}{add50:>9.2f}{add99:>9.2f}{r['rps'] / d['rps']:>9.2f}{r['errors']:>8.0f}"
                )
    if "litellm" in names:
        print("\noffload throughput / LiteLLM throughput:")
        for stream in (False, True):
            for conc in (1, 32):
                o, l_ = results[("offload", stream, conc)], results[("litellm", stream, conc)]
                ratio = o["rps"] / l_["rps"] if l_["rps"] else float("inf")
                print(f"  {'stream' if stream else 'json':<7} c={conc:<3} {ratio:.1f}×")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="measurement time per cell and target")
    ap.add_argument("--rounds", type=int, default=3, help="alternating slices each cell's time is split into")
    ap.add_argument("--litellm", default=None, help="path of the litellm executable (a separate venv)")
    ap.add_argument(
        "--journal-dir",
        default=None,
        help="where offload's journal lives (default: a temporary directory on disk; try /dev/shm to "
        "see the cost without fsync)",
    )
    ap.add_argument(
        "--floor",
        action="store_true",
        help="also measure a bare uvicorn+aiohttp forwarder, without and with one fsync'd SQLite row per request "
        "(the floor any Python gateway with offload's durability pays on this machine)",
    )
    ap.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--serve-floor", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--serve-offload", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve_upstream:
        serve_upstream(a.serve_upstream)
        return
    if a.serve_floor:
        serve_floor(int(a.serve_floor[0]), int(a.serve_floor[1]), a.serve_floor[2])
        return
    if a.serve_offload:
        serve_offload(int(a.serve_offload[0]), int(a.serve_offload[1]), a.serve_offload[2])
        return
    me = [sys.executable, __file__]
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(dir=a.journal_dir) as tmp:
        try:
            up, off = free_port(), free_port()
            procs.append(start([*me, "--serve-upstream", str(up)], up))
            procs.append(start([*me, "--serve-offload", str(off), str(up), str(Path(tmp) / "journal.db")], off))
            targets = {"direct": (up, "/v1/chat/completions")}
            if a.floor:
                f1, f2 = free_port(), free_port()
                procs.append(start([*me, "--serve-floor", str(f1), str(up), "-"], f1))
                procs.append(start([*me, "--serve-floor", str(f2), str(up), str(Path(tmp) / "floor.db")], f2))
                targets["forward"] = (f1, "/v1/chat/completions")
                targets["fwd+sync"] = (f2, "/v1/chat/completions")
            targets["offload"] = (off, "/v1/chat/completions")
            if a.litellm:
                lp = free_port()
                procs.append(
                    start(
                        [a.litellm, "--config", litellm_config(up, tmp), "--port", str(lp), "--num_workers", "1"],
                        lp,
                        {"LITELLM_LOG": "ERROR", "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_MASTER_KEY": TOKEN},
                    )
                )
                targets["litellm"] = (lp, "/v1/chat/completions")
            load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(
                f"cpus={os.cpu_count()} load={load1:.2f} seconds/cell={a.seconds} rounds={a.rounds} "
                f"targets={list(targets)} journal={tmp}"
            )
            results = asyncio.run(run(targets, a.seconds, a.rounds))
            report(results, list(targets))
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    main()
