"""Service load: bid submissions per second and their p50/p99 latency on SQLite and
PostgreSQL, and GET latency while HiGHS clears a market, against a real `flopgrid serve`
process on 127.0.0.1.

    python bench/service_load.py [--bids 2000] [--clients 8] [--backends sqlite,postgresql]

Baseline measured in the same run: `GET /healthz` (no write, no auth) from the same clients,
so the ratio shows what authentication, validation and the durable write cost. Clients are
threads on raw keep-alive `http.client` connections (light, so the client steals as little CPU
from the server as possible). The machine is shared: figures move with the other load on it.

Target (issue 10): >= 500 bids/s and p99 <= 50 ms on SQLite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flopgrid.api.participants.service import create_key
from flopgrid.api.process import ServerProcess
from flopgrid.market import generate_scenario
from flopgrid.store import open_store
from flopgrid.store.throwaway import PostgresServer, PostgresUnavailable


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def drive(port: int, requests: list[tuple[str, str, dict | None, dict]], clients: int) -> tuple[float, list[float]]:
    """Send `requests` (method, path, body, headers) over `clients` keep-alive connections;
    returns (wall seconds, latencies in seconds). Any non-2xx aborts the run."""
    lat: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []

    def worker(chunk: list) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for method, path, body, headers in chunk:
            data = json.dumps(body).encode() if body is not None else None
            t0 = time.perf_counter()
            conn.request(method, path, body=data, headers={**headers, **({"Content-Type": "application/json"} if data else {})})
            r = conn.getresponse()
            payload = r.read()
            mine.append(time.perf_counter() - t0)
            if r.status >= 300:
                errors.append(f"{r.status} {payload[:200]!r}")
                break
        conn.close()
        with lock:
            lat.extend(mine)

    chunks = [requests[i::clients] for i in range(clients)]
    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"load run failed: {errors[0]}")
    return wall, lat


def one_backend(name: str, db: str, n_bids: int, clients: int, tmp: Path) -> dict:
    store = open_store(db, upgrade=True)
    op, buyer, prov = (create_key(store, n, r).key for n, r in (("op", "operator"), ("b1", "buyer"), ("p1", "provider")))
    store.close()
    srv = ServerProcess(db, tmp / f"{name}.log").start()
    srv_port = srv.port
    try:
        H = {"op": {"Authorization": f"Bearer {op}"}, "b": {"Authorization": f"Bearer {buyer}"},
             "p": {"Authorization": f"Bearer {prov}"}}
        gate = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        pool = {"id": "bench-pool", "provider": "p1", "hardware": "h100-sxm", "chips": 100_000, "island_chips": 1024,
                "offer": [{"chips": 100_000, "price_per_chip_hour": 2.0}]}
        drive(srv_port, [("POST", "/v1/pools", pool, H["p"])], 1)
        conn = http.client.HTTPConnection("127.0.0.1", srv_port)
        conn.request("POST", "/v1/markets", json.dumps({"horizon": {"intervals": 24}, "gate_closure_at": gate}),
                     {**H["op"], "Content-Type": "application/json"})
        mid = json.loads(conn.getresponse().read())["id"]
        # warm-up (imports, caches, connection pools), then the baseline and the bids
        drive(srv_port, [("GET", "/healthz", None, {})] * 200, clients)
        base_wall, base_lat = drive(srv_port, [("GET", "/healthz", None, {})] * n_bids, clients)
        bids = [("POST", "/v1/bids", {"id": f"bench-{i:06d}", "model": "llama3-8b", "chips": [8], "intervals": 2,
                                      "window": [0, 24], "max_price_per_chip_hour": 3.0, "market": mid},
                 {**H["b"], "Idempotency-Key": f"bench-{i}"}) for i in range(n_bids)]
        drive(srv_port, bids[:100], clients)  # warm-up bids
        wall, lat = drive(srv_port, bids[100:], clients)
        n = len(bids) - 100
        out = {"backend": name, "bids": n, "clients": clients, "bids_per_s": n / wall,
               "p50_ms": 1e3 * pct(lat, 0.5), "p99_ms": 1e3 * pct(lat, 0.99),
               "healthz_per_s": n_bids / base_wall, "healthz_p50_ms": 1e3 * pct(base_lat, 0.5),
               "healthz_p99_ms": 1e3 * pct(base_lat, 0.99)}
        out.update(gets_during_clear(srv_port, H, prov_key=prov, op_key=op, tmp=tmp))
        return out
    finally:
        srv.stop()


def gets_during_clear(port: int, H: dict, prov_key: str, op_key: str, tmp: Path) -> dict:
    """A 60-bid market (6 pools, 8 intervals, the `flopgrid scenario generate` kind) is cleared
    by the worker while two clients keep reading; GET latency idle vs during the clear."""
    import httpx

    sc = generate_scenario(6, 60, 8, seed=3)
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=60) as c:
        keys: dict[str, str] = {}
        for who, role in [(p["provider"], "provider") for p in sc["pools"]] + [(b["buyer"], "buyer") for b in sc["bids"]]:
            if who not in keys:
                keys[who] = c.post("/v1/participants", json={"name": who, "role": role}, headers=H["op"]).json()["key"]
        for p in sc["pools"]:
            c.post("/v1/pools", json=p, headers={"Authorization": f"Bearer {keys[p['provider']]}"}).raise_for_status()
        gate = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        mid = c.post("/v1/markets", json={"horizon": sc["horizon"], "gate_closure_at": gate}, headers=H["op"]).json()["id"]
        for b in sc["bids"]:
            c.post("/v1/bids", json={**b, "market": mid},
                   headers={"Authorization": f"Bearer {keys[b['buyer']]}"}).raise_for_status()
        reads = [("GET", f"/v1/markets/{mid}", None, H["op"]), ("GET", f"/v1/markets/{mid}/summary", None, {})] * 100
        _, idle = drive(port, reads, 2)
        c.post(f"/v1/markets/{mid}/clear", headers=H["op"]).raise_for_status()
        during: list[float] = []
        t0 = time.perf_counter()
        while True:
            _, lat = drive(port, reads[:20], 2)
            status = c.get(f"/v1/markets/{mid}", headers=H["op"]).json()["status"]
            if status != "clearing":
                break
            during += lat
        clear_s = time.perf_counter() - t0
    return {"clear_s": clear_s, "gets_during_clear": len(during), "get_idle_p50_ms": 1e3 * pct(idle, 0.5),
            "get_idle_p99_ms": 1e3 * pct(idle, 0.99), "get_clear_p50_ms": 1e3 * pct(during, 0.5),
            "get_clear_p99_ms": 1e3 * pct(during, 0.99), "get_clear_max_ms": 1e3 * max(during, default=float("nan"))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bids", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="flopgrid-bench-") as d:
        tmp = Path(d)
        for name in args.backends.split(","):
            if name == "sqlite":
                results.append(one_backend(name, f"sqlite:///{tmp / 'bench.db'}", args.bids, args.clients, tmp))
            elif name == "postgresql":
                try:
                    pg = PostgresServer.start()
                except PostgresUnavailable as exc:
                    print(f"postgresql: skipped ({exc})")
                    continue
                try:
                    results.append(one_backend(name, pg.new_database(), args.bids, args.clients, tmp))
                finally:
                    pg.stop()
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(f"{'backend':<11}{'bids/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'healthz/s':>10}{'ratio':>7}"
          f"{'GET idle p50/p99':>18}{'GET clearing p50/p99/max':>26}{'n':>5}{'clear s':>8}")
    for r in results:
        print(f"{r['backend']:<11}{r['bids_per_s']:>8.0f}{r['p50_ms']:>8.1f}{r['p99_ms']:>8.1f}{r['healthz_per_s']:>10.0f}"
              f"{r['bids_per_s'] / r['healthz_per_s']:>7.2f}{r['get_idle_p50_ms']:>9.1f}/{r['get_idle_p99_ms']:<8.1f}"
              f"{r['get_clear_p50_ms']:>11.1f}/{r['get_clear_p99_ms']:.1f}/{r['get_clear_max_ms']:<7.1f}"
              f"{r['gets_during_clear']:>5}{r['clear_s']:>8.1f}")
    sq = next((r for r in results if r["backend"] == "sqlite"), None)
    if sq:
        ok = sq["bids_per_s"] >= 500 and sq["p99_ms"] <= 50
        print(f"target (SQLite >= 500 bids/s, p99 <= 50 ms): {'met' if ok else 'MISSED'} "
              f"({sq['bids_per_s']:.0f} bids/s, p99 {sq['p99_ms']:.1f} ms; {args.clients} client threads on this host)")


if __name__ == "__main__":
    main()
