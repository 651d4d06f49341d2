"""One benchmark run: the ceiling app and the registry, same worker count, same
database, measured back to back with wrk (reads) and an asyncio client (writes).

    python bench/seed.py --verify            # once: 100,000 challenges in registry_bench
    python bench/run.py                      # workers 1 and 2, 15 s per measurement
    python bench/run.py --workers 2 --duration 20 --connections 64

Only one server runs at a time. The load generator runs on the same machine
and takes its share of the CPU. Prints a Markdown table and writes the raw
figures to bench/results/<timestamp>.json. Never run in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import msgspec

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LOGS = Path(tempfile.gettempdir()) / "registry-bench-logs"  # server output; not kept in the repository
sys.path.insert(0, str(BENCH))

from seed import DEFAULT_URL, verify  # noqa: E402

from registry import db as dbmod  # noqa: E402
from registry.store import tokens  # noqa: E402

STATES = ["submitted", "under_assessment", "information_requested", "inadmissible", "lapsed", "accepted",
          "modification_proposed", "rejected", "agreed", "in_operation", "evaluated", "ended", "returned",
          "withdrawn"]  # fmt: skip
CATEGORIES = ["renovation", "street_cleaning", "microcorporation", "green_maintenance",
              "neighbourhood_supervision", "other"]  # fmt: skip


# --- servers --------------------------------------------------------------------------


class Server:
    """granian in its own session, so that it and its workers stop together."""

    def __init__(self, name: str, target: str, port: int, workers: int, url: str, working_dir: Path | None = None):
        self.name, self.port = name, port
        env = {**os.environ, "REGISTRY_DATABASE_URL": url, "REGISTRY_MIGRATE_ON_START": "0",
               "REGISTRY_BASE_URL": f"http://127.0.0.1:{port}"}
        cmd = [str(Path(sys.executable).parent / "granian"), "--interface", "asgi", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
        if working_dir:
            cmd += ["--working-dir", str(working_dir)]
        self.cmd = cmd + [target]
        self.log = open(LOGS / f"{name}-w{workers}.log", "w")
        self.proc = subprocess.Popen(self.cmd, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, path: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not come up on port {self.port}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


# --- reads: wrk -------------------------------------------------------------------------


def wrk(port: int, paths_file: str, duration: int, connections: int, threads: int) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
         "-s", str(BENCH / "paths.lua"), f"http://127.0.0.1:{port}", "--", paths_file],
        capture_output=True, text=True, check=True,
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    r = json.loads(line[len("RESULT "):])
    secs = r["duration_us"] / 1e6
    ok = r["requests"] - r["status_errors"]
    return {
        "rps": ok / secs, "p50_ms": r["p50_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
        "requests": r["requests"], "errors": r["status_errors"] + r["read_errors"] + r["write_errors"]
        + r["connect_errors"] + r["timeouts"],
        "loadgen_cpu": (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / secs,
    }


# --- writes: a small keep-alive HTTP/1.1 client -----------------------------------------


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.r, self.w = reader, writer

    @classmethod
    async def open(cls, port: int) -> "Conn":
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.w.write(head.encode() + body)
        status_line = await self.r.readline()
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while True:
            line = await self.r.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            k = k.strip().lower()
            if k == "content-length":
                length = int(v)
            elif k == "transfer-encoding" and "chunked" in v.lower():
                chunked = True
        if not chunked:
            return status, await self.r.readexactly(length)
        data = b""
        while True:
            size = int((await self.r.readline()).split(b";")[0], 16)
            if size == 0:
                await self.r.readline()
                return status, data
            data += await self.r.readexactly(size)
            await self.r.readline()

    def close(self) -> None:
        self.w.close()


class Version(msgspec.Struct):
    version: int


async def write_benchmark(port: int, targets: list[list], duration: float, warmup: float, concurrency: int) -> dict:
    """POST report_progress with the right expected_version, each client on its own
    challenges (so no 409 from our own races). ``targets``: [ref, token, version]."""
    decode = msgspec.json.Decoder(Version).decode
    slices = [targets[i::concurrency] for i in range(concurrency)]
    counts = {"ok": 0, "conflict": 0, "other": 0}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + duration

    async def client(mine: list[list]) -> None:
        conn = await Conn.open(port)
        i = 0
        try:
            while True:
                t = time.perf_counter()
                if t >= stop_at:
                    return
                target = mine[i % len(mine)]
                i += 1
                ref, token, version = target
                body = msgspec.json.encode({"expected_version": version,
                                            "report": f"Voortgang {i}: alles volgens plan."})
                status, data = await conn.request(
                    "POST", f"/api/v1/challenges/{ref}/actions/report_progress",
                    {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, body)
                done = time.perf_counter()
                measured = measure_from <= t and done <= stop_at
                if status == 200:
                    target[2] = decode(data).version
                elif status == 409:  # someone else moved it: fetch the version again
                    _, data = await conn.request("GET", f"/api/v1/challenges/{ref}", {})
                    target[2] = decode(data).version
                if measured:
                    statuses[status] = statuses.get(status, 0) + 1
                    counts["ok" if status == 200 else "conflict" if status == 409 else "other"] += 1
                    if status == 200:
                        latencies.append(done - t)
        finally:
            conn.close()

    before = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(*(client(s) for s in slices if s))
    after = resource.getrusage(resource.RUSAGE_SELF)
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else 0.0  # noqa: E731
    elapsed = time.perf_counter() - start
    return {
        "rps": counts["ok"] / duration, "p50_ms": pct(50), "p99_ms": pct(99),
        "requests": sum(counts.values()), "errors": counts["conflict"] + counts["other"], "statuses": statuses,
        "loadgen_cpu": (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / elapsed,
    }


# --- the run --------------------------------------------------------------------------


async def prepare(url: str, tmp: Path, sample: int) -> dict:
    """Path files for wrk and writable challenges with collective tokens."""
    rnd = random.Random(7)
    applied = await dbmod.migrate_url(url)  # the schema of the code under test
    if applied:
        print(f"applied migrations {applied} to the bench database")
    conn = await asyncpg.connect(url)
    try:
        max_id = await conn.fetchval("SELECT max(id) FROM challenges")
        refs = [r["ref"] for r in await conn.fetch(
            "SELECT ref FROM challenges WHERE state <> 'draft' ORDER BY random() LIMIT $1", sample)]
        codes = [r["code"] for r in await conn.fetch("SELECT code FROM municipalities ORDER BY code")]
        writable = await conn.fetch(
            "SELECT c.ref, c.version, c.collective_id, c.municipality_code FROM challenges c"
            " WHERE c.state = 'in_operation' ORDER BY random() LIMIT 4000")
        token_of: dict[int, str] = {}
        for r in writable:
            if r["collective_id"] not in token_of:
                token_of[r["collective_id"]] = await tokens.create_token(
                    conn, "collective", r["municipality_code"], r["collective_id"], label="bench/run.py")
        targets = [[r["ref"], token_of[r["collective_id"]], r["version"]] for r in writable]
        before = await conn.fetchval("SELECT count(*) FROM events")
    finally:
        await conn.close()

    def write(name: str, paths: list[str]) -> str:
        p = tmp / f"{name}.txt"
        p.write_text("\n".join(paths) + "\n")
        return str(p)

    filtered = []
    for _ in range(5000):
        kind = rnd.randrange(5)
        q = {0: f"municipality={rnd.choice(codes)}", 1: f"state={rnd.choice(STATES)}",
             2: f"municipality={rnd.choice(codes)}&state={rnd.choice(STATES)}",
             3: f"category={rnd.choice(CATEGORIES)}",
             4: f"municipality={rnd.choice(codes)}&category={rnd.choice(CATEGORIES)}"}[kind]
        filtered.append(f"/api/v1/challenges?{q}&limit=50")
    return {
        "max_id": max_id,
        "events_before": before,
        "targets": targets,
        "files": {
            "ceiling": write("ceiling", [f"/c/{rnd.randrange(1, max_id + 1)}" for _ in range(sample)]),
            "detail": write("detail", [f"/api/v1/challenges/{r}" for r in refs]),
            "list_first": write("list_first", ["/api/v1/challenges?limit=50"]),
            "list_filtered": write("list_filtered", filtered),
            "list_cursor": write("list_cursor", [f"/api/v1/challenges?limit=50&cursor={rnd.randrange(1000, max_id)}"
                                                 for _ in range(5000)]),
        },
    }


SCENARIOS = [
    ("detail", "GET /api/v1/challenges/{ref} (random refs)", 0.60),
    ("list_first", "GET /api/v1/challenges?limit=50 (first page)", 0.40),
    ("list_filtered", "… &municipality / state / category filters, first page", 0.40),
    ("list_cursor", "… ?limit=50&cursor={random id} (later pages)", 0.40),
]


def cpu_sample() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def timed(fn, *a) -> dict:
    """Run one measurement and note how busy the whole machine was meanwhile
    (other people's processes included) and the load average after it."""
    b0, t0 = cpu_sample()
    r = fn(*a)
    b1, t1 = cpu_sample()
    r["machine_busy"] = (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0
    r["loadavg"] = float(Path("/proc/loadavg").read_text().split()[0])
    return r


def measure_ceiling(args, prep: dict, workers: int) -> dict:
    ceiling = Server("ceiling", "ceiling:app", args.port, workers, args.database_url, working_dir=BENCH)
    try:
        ceiling.wait_ready("/c/1")
        wrk(args.port, prep["files"]["ceiling"], args.warmup, args.connections, args.threads)
        r = timed(wrk, args.port, prep["files"]["ceiling"], args.duration, args.connections, args.threads)
        print(f"  ceiling        {r['rps']:8.0f} req/s (machine busy {r['machine_busy']:.0%})", flush=True)
        return r
    finally:
        ceiling.stop()


def measure(args, prep: dict, workers: int) -> dict:
    """The ceiling before and after the registry, so that a change in the
    machine's background load shows up as a spread between the two."""
    res: dict = {}
    port = args.port + 1
    print(f"\n== {workers} worker(s) ==", flush=True)
    before = measure_ceiling(args, prep, workers)
    registry = Server("registry", args.registry_target, port, workers, args.database_url, working_dir=BENCH)
    try:
        registry.wait_ready("/api/v1/challenges?limit=1")
        for name, _, _ in SCENARIOS:
            if name not in args.scenarios:
                continue
            wrk(port, prep["files"][name], args.warmup, args.connections, args.threads)
            res[name] = timed(wrk, port, prep["files"][name], args.duration, args.connections, args.threads)
            print(f"  {name:<14} {res[name]['rps']:8.0f} req/s (machine busy {res[name]['machine_busy']:.0%})", flush=True)
        if "write" in args.scenarios:
            res["write"] = timed(lambda: asyncio.run(write_benchmark(
                port, prep["targets"], args.duration, args.warmup, args.write_concurrency)))
            print(f"  write          {res['write']['rps']:8.0f} actions/s {res['write']['statuses']}", flush=True)
    finally:
        registry.stop()
    after = measure_ceiling(args, prep, workers)
    res["ceiling_before"], res["ceiling_after"] = before, after
    res["ceiling"] = {k: (before[k] + after[k]) / 2 for k in ("rps", "p50_ms", "p99_ms", "loadgen_cpu", "machine_busy")}
    res["ceiling"]["errors"] = before["errors"] + after["errors"]
    return res


def table(results: dict, args) -> str:
    lines = []
    for workers, res in results.items():
        c = res["ceiling"]["rps"]
        lines += [
            f"\n**{workers} worker(s)**, wrk -t{args.threads} -c{args.connections}, {args.duration} s per row"
            f" (writes: {args.write_concurrency} asyncio clients)\n",
            "| measurement | req/s | p50 ms | p99 ms | errors | ratio to ceiling | goal | load generator CPU | machine busy |",
            "|---|---:|---:|---:|---:|---:|---|---:|---:|",
            f"| ceiling: GET /c/{{id}} (1-row SELECT), mean of before/after"
            f" ({res['ceiling_before']['rps']:,.0f} / {res['ceiling_after']['rps']:,.0f}) | {c:,.0f} |"
            f" {res['ceiling']['p50_ms']:.2f} | {res['ceiling']['p99_ms']:.2f} | {res['ceiling']['errors']} | 100 % | |"
            f" {res['ceiling']['loadgen_cpu']:.0%} | {res['ceiling']['machine_busy']:.0%} |",
        ]
        for name, label, goal in SCENARIOS:
            if name not in res:
                continue
            r = res[name]
            ratio = r["rps"] / c
            lines.append(
                f"| {label} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} |"
                f" {ratio:.0%} | ≥ {goal:.0%} {'✅' if ratio >= goal else '❌'} | {r['loadgen_cpu']:.0%} |"
                f" {r['machine_busy']:.0%} |")
        w = res.get("write")
        if w is None:
            continue
        lines.append(
            f"| POST …/actions/report_progress (expected_version tracked) | {w['rps']:,.0f} | {w['p50_ms']:.2f} |"
            f" {w['p99_ms']:.2f} | {w['errors']} | — | ≥ 500/s {'✅' if w['rps'] >= 500 else '❌'}"
            f" | {w['loadgen_cpu']:.0%} | {w['machine_busy']:.0%} |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=DEFAULT_URL)
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts to try (default 1,2)")
    p.add_argument("--duration", type=int, default=15, help="seconds per measurement")
    p.add_argument("--warmup", type=int, default=5, help="seconds of warm-up before each measurement")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=1, help="wrk threads")
    p.add_argument("--write-concurrency", type=int, default=32)
    p.add_argument("--port", type=int, default=8710)
    p.add_argument("--sample", type=int, default=20000, help="random refs / ids to spread reads over")
    p.add_argument("--registry-target", default="registry.asgi:app",
                   help="the ASGI app to measure (module:attr, importable from bench/)")
    p.add_argument("--scenarios", default="detail,list_first,list_filtered,list_cursor,write",
                   help="which registry measurements to take (the ceiling is always measured)")
    args = p.parse_args()
    args.scenarios = args.scenarios.split(",")

    (BENCH / "results").mkdir(exist_ok=True)
    LOGS.mkdir(exist_ok=True)
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        prep = asyncio.run(prepare(args.database_url, Path(tmp), args.sample))
        print(f"{prep['max_id']} challenges, {prep['events_before']} events,"
              f" {len(prep['targets'])} in_operation challenges to write to", flush=True)
        for workers in [int(w) for w in args.workers.split(",")]:
            results[workers] = measure(args, prep, workers)

    print("\nverifying every municipality's chain after the writes:")
    intact = asyncio.run(verify(args.database_url))
    out = table(results, args)
    print(out)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    dump = {"args": vars(args), "bench_append": os.environ.get("BENCH_APPEND"), "results": results,
            "chains_intact": intact, "loadavg_end": Path("/proc/loadavg").read_text().split()[:3]}
    (BENCH / "results" / f"{stamp}.json").write_text(json.dumps(dump, indent=2, default=str))
    print(f"\nchains intact after the writes: {intact}; raw figures in bench/results/{stamp}.json")
    return 0 if intact else 1


if __name__ == "__main__":
    sys.exit(main())
