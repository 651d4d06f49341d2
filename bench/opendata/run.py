"""Open-data benchmark (issue 3): bulk export, change feed and verifier at scale.

Not part of the test suite; run on demand against a dedicated database:

    python bench/opendata/run.py                       # seeds 1,000,000 challenges if the database is empty
    python bench/opendata/run.py --challenges 20000    # a quick run
    python bench/opendata/run.py --skip export,verify  # only some measurements

Seeds with bench/seed.py (10 events a challenge) if the database is empty, then measures in one run:
- PostgreSQL's own ``COPY (SELECT ...) TO STDOUT`` of the events (the same
  query and options the registry uses), into /dev/null, as the yardstick;
- GET /api/v1/exports/events.ndjson over HTTP from ``registry serve`` (one
  worker), with the peak RSS of the server's processes, sampled every 0.1 s,
  then challenges.ndjson and challenges.csv the same way;
- the change feed, 1,000 events a page, pages per second on one connection;
- ``registry export`` and ``registry verify`` as subprocesses, wall time and
  peak RSS (``/usr/bin/time -v``).
Results go to bench/opendata/results/<timestamp>.json and stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import asyncpg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from registry.opendata.exports import Filter, events_query  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/registry_bench_opendata"


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


async def counts(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT count(*) FROM challenges"), await conn.fetchval("SELECT count(*) FROM events")
    except asyncpg.UndefinedTableError:
        return 0, 0
    finally:
        await conn.close()


async def missing_database(url: str) -> bool:
    try:
        await (await asyncpg.connect(url)).close()
        return False
    except asyncpg.InvalidCatalogNameError:
        return True


def timed(cmd: list[str], env: dict | None = None) -> dict:
    """Wall time, CPU time (user+sys of the command and its children, via
    /usr/bin/time -v) and peak RSS of the whole process tree (workers
    included), sampled every 0.1 s."""
    t = time.perf_counter()
    p = subprocess.Popen(["/usr/bin/time", "-v", *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kb(p.pid))
            time.sleep(0.1)

    threading.Thread(target=sample, daemon=True).start()
    out, err = p.communicate()
    done.set()
    wall = time.perf_counter() - t
    cpu = sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", err))
    return {"seconds": round(wall, 2), "cpu_seconds": round(cpu, 1), "peak_tree_rss_mb": round(peak[0] / 1024, 1),
            "exit": p.returncode, "stdout_tail": out[-600:]}  # fmt: skip


def copy_baseline(url: str) -> dict:
    sql, _ = events_query(Filter())
    copy = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
    t = time.perf_counter()
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(["psql", url, "-Atc", copy], stdout=subprocess.PIPE)
        size = 0
        while chunk := p.stdout.read(1 << 20):
            size += len(chunk)
            null.write(chunk)
        p.wait()
    wall = time.perf_counter() - t
    return {"seconds": round(wall, 2), "bytes": size, "mb_per_s": round(size / wall / 1e6, 1)}


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            for child in Path(f"/proc/{p}/task").iterdir():
                kids = (child / "children").read_text().split()
                todo += [int(k) for k in kids]
        except (OSError, AttributeError):
            continue
    return total


class Server:
    def __init__(self, url: str, port: int) -> None:
        env = {**os.environ, "REGISTRY_DATABASE_URL": url, "REGISTRY_BASE_URL": f"http://127.0.0.1:{port}",
               "REGISTRY_DATA_DIR": tempfile.mkdtemp(prefix="od-bench-")}  # fmt: skip
        self.port = port
        self.proc = subprocess.Popen([sys.executable, "-m", "registry.cli", "serve", "--port", str(port), "--workers", "1"],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        for _ in range(300):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/api/v1")
                if c.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


def http_export(server: Server, path: str) -> dict:
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kb(server.proc.pid))
            time.sleep(0.1)

    threading.Thread(target=sample, daemon=True).start()
    before = tree_rss_kb(server.proc.pid)
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    t = time.perf_counter()
    c.request("GET", path)
    r = c.getresponse()
    size = 0
    while chunk := r.read(1 << 20):
        size += len(chunk)
    wall = time.perf_counter() - t
    done.set()
    return {"seconds": round(wall, 2), "bytes": size, "mb_per_s": round(size / wall / 1e6, 1),
            "server_rss_before_mb": round(before / 1024, 1), "server_peak_rss_mb": round(peak[0] / 1024, 1)}  # fmt: skip


def change_feed(server: Server, pages: int, start_after: int, parse: bool = False) -> dict:
    """A mirror following ``next`` on one keep-alive connection. Without
    ``parse`` the client takes the next page from the Link header and only
    reads the body (the server's pace); with it, it also decodes every page
    with the standard library's json (a simple mirror's pace)."""
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    path, n, size, t = f"/api/v1/events?after={start_after}&limit=1000", 0, 0, time.perf_counter()
    while path and n < pages:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        size += len(body)
        if parse:
            nxt = json.loads(body)["next"]
        else:
            link = r.getheader("Link")
            nxt = link[1 : link.index(">")] if link else None
        path = nxt[nxt.index("/api/v1/"):] if nxt else None
        n += 1
    wall = time.perf_counter() - t
    return {"pages": n, "seconds": round(wall, 2), "pages_per_s": round(n / wall, 1), "start_after": start_after,
            "mb_per_s": round(size / wall / 1e6, 1), "client_parses_json": parse}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=DEFAULT_URL)
    p.add_argument("-n", "--challenges", type=int, default=1_000_000, help="to seed if the database is empty")
    p.add_argument("--port", type=int, default=8731)
    p.add_argument("--pages", type=int, default=2000, help="change-feed pages to read")
    p.add_argument("--skip", default="", help="comma-separated: copy,http,feed,export,verify")
    args = p.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    url = args.database_url

    n_challenges, n_events = (0, 0) if asyncio.run(missing_database(url)) else asyncio.run(counts(url))
    if not n_events:
        # --reports 29: about 10 events a challenge, so 1,000,000 challenges give 10,000,000 events.
        sh([sys.executable, str(ROOT / "bench" / "seed.py"), "--database-url", url, "-n", str(args.challenges), "--reports", "29"])
        n_challenges, n_events = asyncio.run(counts(url))
    sh([sys.executable, "-m", "registry.cli", "migrate"], env={**os.environ, "REGISTRY_DATABASE_URL": url}, stdout=subprocess.DEVNULL)
    results: dict = {"at": datetime.now(timezone.utc).isoformat(), "challenges": n_challenges, "events": n_events,
                     "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}  # fmt: skip
    print(f"{n_challenges:,} challenges, {n_events:,} events", flush=True)

    if "copy" not in skip:
        results["copy_events"] = copy_baseline(url)
        print("COPY", results["copy_events"], flush=True)
    if {"http", "feed"} - skip:
        server = Server(url, args.port)
        try:
            if "http" not in skip:
                results["http_events_ndjson"] = http_export(server, "/api/v1/exports/events.ndjson")
                print("HTTP events.ndjson", results["http_events_ndjson"], flush=True)
                for name in ("challenges.ndjson", "challenges.csv"):
                    results[f"http_{name}"] = http_export(server, f"/api/v1/exports/{name}")
                    print(f"HTTP {name}", results[f"http_{name}"], flush=True)
                if "copy" not in skip:
                    # Again, now that the first COPY has warmed the cache for the download too.
                    results["copy_events_after"] = copy_baseline(url)
                    print("COPY again", results["copy_events_after"], flush=True)
            if "feed" not in skip:
                results["change_feed_start"] = change_feed(server, args.pages, 0)
                results["change_feed_middle"] = change_feed(server, args.pages, n_events // 2)
                results["change_feed_middle_parsed"] = change_feed(server, args.pages, n_events // 2, parse=True)
                print("feed", results["change_feed_start"], results["change_feed_middle"],
                      results["change_feed_middle_parsed"], flush=True)
        finally:
            server.stop()
    env = {**os.environ, "REGISTRY_DATABASE_URL": url}
    if "export" not in skip:
        out = Path(tempfile.mkdtemp(prefix="od-export-"))
        results["registry_export"] = timed([sys.executable, "-m", "registry.cli", "export", str(out)], env)
        dumps = list(out.iterdir())
        if dumps:
            manifest = json.loads((dumps[0] / "manifest.json").read_text())
            results["registry_export"]["files"] = {f["name"]: f["bytes"] for f in manifest["files"]}
            if "verify" not in skip:
                results["registry_verify_dump"] = timed([sys.executable, "-m", "registry.cli", "verify", str(dumps[0])], env)
        shutil.rmtree(out, ignore_errors=True)
        print("export", results["registry_export"], flush=True)
    if "verify" not in skip:
        results["registry_verify_database"] = timed([sys.executable, "-m", "registry.cli", "verify"], env)
        print("verify", results["registry_verify_database"], flush=True)
    if "copy_events" in results and "http_events_ndjson" in results:
        # Against the faster of the two COPY runs: the fair yardstick.
        copy_s = min(results[k]["seconds"] for k in ("copy_events", "copy_events_after") if k in results)
        results["http_vs_copy"] = round(copy_s / results["http_events_ndjson"]["seconds"], 2)

    (HERE / "results").mkdir(exist_ok=True)
    path = HERE / "results" / (datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".json")
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
