"""The participants' commands on a running server (`flopgrid.client.Client`):
`pool register|list`, `bid submit|list|cancel`, `market create|close|clear|status|prices|settle`,
`statement`. Each takes `--server/--key` (or FLOPGRID_SERVER / FLOPGRID_KEY) and `--json`; a
server refusal is one line on stderr naming the field or rule (exit 2)."""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from flopgrid.cli.output import compact_table, console, emit, gap_pct
from flopgrid.errors import UserInputError

pool_app = typer.Typer(help="Pools on a flopgrid server (providers).", no_args_is_help=True)
bid_app = typer.Typer(help="Bids on a flopgrid server (buyers).", no_args_is_help=True)
market_app = typer.Typer(help="Markets on a flopgrid server (operator; status and prices for all).",
                         no_args_is_help=True)

SERVER = typer.Option("http://127.0.0.1:8765", "--server", envvar="FLOPGRID_SERVER", help="server URL")
KEY = typer.Option(None, "--key", envvar="FLOPGRID_KEY", help="API key")
JSON = typer.Option(False, "--json", help="print JSON")


def _client(server: str, key: str | None):
    from flopgrid.client import Client

    return Client(server, key)


def _read(path: Path) -> Any:
    """A JSON or YAML file: one object, a list, or {key: [...]}."""
    import yaml

    if not path.is_file():
        raise UserInputError(f"{path}: no such file")
    try:
        return yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserInputError(f"{path}: not JSON or YAML ({str(exc).splitlines()[0]})") from None


def _items(data: Any, key: str) -> list[dict]:
    if isinstance(data, dict) and isinstance(data.get(key), list):
        return data[key]
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        return [data]
    raise UserInputError(f"expected one {key[:-1]}, a list, or {{{key!r}: [...]}}")


def _rows(title: str, cols: list[str], rows: list[list[Any]]) -> None:
    t = compact_table(title, cols)
    for r in rows:
        t.add_row(*[str(c) for c in r])
    console.print(t)


# pools -------------------------------------------------------------------------------------
@pool_app.command("register")
def pool_register(file: Path = typer.Argument(..., help="a Pool (JSON/YAML), a list, or {pools: [...]}"),
                  server: str = SERVER, key: str | None = KEY, as_json: bool = JSON) -> None:
    """Register pools (the provider is you)."""
    with _client(server, key) as c:
        out = [c.register_pool(p) for p in _items(_read(file), "pools")]
    emit({"pools": out}, as_json, lambda r: [console.print(f"registered pool {p['id']} ({p['chips']} x {p['hardware']})",
                                                           highlight=False) for p in r["pools"]])


@pool_app.command("list")
def pool_list(server: str = SERVER, key: str | None = KEY, as_json: bool = JSON) -> None:
    """Pools you may see (providers: your own)."""
    with _client(server, key) as c:
        pools = c.pools()
    emit({"pools": pools}, as_json, lambda r: _rows("pools", ["pool", "provider", "hardware", "chips", "offer steps"], [
        [p["id"], p["provider"], p["hardware"], p["chips"], len(p["offer"])] for p in r["pools"]]))


# bids --------------------------------------------------------------------------------------
@bid_app.command("submit")
def bid_submit(file: Path = typer.Argument(..., help="a Bid (JSON/YAML), a list, or {bids: [...]}"),
               market: str | None = typer.Option(None, "--market", help="market id (else each bid's `market`)"),
               server: str = SERVER, key: str | None = KEY, as_json: bool = JSON) -> None:
    """Submit bids; each carries an Idempotency-Key derived from its content, so re-running is safe."""
    out = []
    with _client(server, key) as c:
        for b in _items(_read(file), "bids"):
            body = {**b, **({"market": market} if market else {})}
            if "market" not in body:
                raise UserInputError(f"bid {b.get('id')!r}: no market (give --market or a `market` field)")
            ikey = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
            out.append(c.submit_bid(body, idempotency_key=ikey))
    emit({"bids": out}, as_json, lambda r: [console.print(f"bid {b['id']} in {b['market']}: {b['status']}",
                                                          highlight=False) for b in r["bids"]])


@bid_app.command("list")
def bid_list(market: str | None = typer.Option(None, "--market"), server: str = SERVER,
             key: str | None = KEY, as_json: bool = JSON) -> None:
    """Your bids (operator: all), with status and reason."""
    with _client(server, key) as c:
        bids = c.bids(market)
    emit({"bids": bids}, as_json, _render_bids)


def _render_bids(r: dict) -> None:
    _rows("bids", ["bid", "market", "status"], [[b["id"], b["market"], b["status"]] for b in r["bids"]])
    for b in r["bids"]:
        if b.get("reason") and b["status"] == "unserved":
            console.print(f"[dim]{b['id']}: {b['reason']}[/dim]", highlight=False)


@bid_app.command("cancel")
def bid_cancel(bid_id: str = typer.Argument(...), server: str = SERVER, key: str | None = KEY,
               as_json: bool = JSON) -> None:
    """Cancel an open bid (only while its market is open)."""
    with _client(server, key) as c:
        b = c.cancel_bid(bid_id)
    emit(b, as_json, lambda r: console.print(f"bid {r['id']}: {r['status']}", highlight=False))


# markets -----------------------------------------------------------------------------------
def _market_line(m: dict) -> None:
    gap = "" if m.get("gap") is None else f", gap {gap_pct(m['gap'])}"
    why = f" ({m['reason']})" if m.get("reason") else ""
    console.print(f"market {m['id']} ({m['kind']}): {m['status']}{why}", highlight=False)
    solver = f", solver {m['solver_status']}{gap}" if m.get("solver_status") else ""
    console.print(f"  gate {m['gate_closure_at'][:19]}Z{solver}", highlight=False)


@market_app.command("create")
def market_create(
    intervals: int = typer.Option(24, "--intervals", help="intervals in the horizon"),
    interval_minutes: float = typer.Option(60.0, "--interval-minutes"),
    start: str | None = typer.Option(None, "--start", help="ISO-8601 time of interval 0"),
    gate_in: float = typer.Option(3600.0, "--gate-in", help="gate closure this many seconds from now"),
    gate: str | None = typer.Option(None, "--gate", help="gate closure time, ISO-8601 (overrides --gate-in)"),
    kind: str = typer.Option("day_ahead", "--kind", help="day_ahead | real_time"),
    reserve: float = typer.Option(0.0, "--reserve", help="reserve fraction"),
    server: str = SERVER, key: str | None = KEY, as_json: bool = JSON,
) -> None:
    """Open a market (operator)."""
    gate_at = gate or (datetime.now(UTC) + timedelta(seconds=gate_in)).isoformat()
    horizon = {"intervals": intervals, "interval_minutes": interval_minutes, **({"start": start} if start else {})}
    with _client(server, key) as c:
        m = c.create_market(horizon, gate_at, kind, {"fraction": reserve})
    emit(m, as_json, _market_line)


@market_app.command("close")
def market_close(market_id: str = typer.Argument(...), server: str = SERVER, key: str | None = KEY,
                 as_json: bool = JSON) -> None:
    """Gate closure now (operator)."""
    with _client(server, key) as c:
        emit(c.close_market(market_id), as_json, _market_line)


@market_app.command("clear")
def market_clear(market_id: str = typer.Argument(...),
                 wait: bool = typer.Option(True, "--wait/--no-wait", help="poll until the clearing is done"),
                 server: str = SERVER, key: str | None = KEY, as_json: bool = JSON) -> None:
    """Clear the market (operator); the server clears off the request path."""
    with _client(server, key) as c:
        acc = c.clear_market(market_id)
        out = c.wait_cleared(market_id) if wait else acc
    emit(out, as_json, _market_line if wait else lambda r: console.print(f"clearing; poll {r['status_url']}"))


@market_app.command("status")
def market_status(market_id: str | None = typer.Argument(None, help="market id (default: all)"),
                  server: str = SERVER, key: str | None = KEY, as_json: bool = JSON) -> None:
    """A market's status and its summary (all markets without an id)."""
    with _client(server, key) as c:
        if market_id is None:
            ms = c.markets()
            return emit({"markets": ms}, as_json, lambda r: [_market_line(m) for m in r["markets"]])
        out = {**c.market(market_id), "summary": c.summary(market_id)}
    emit(out, as_json, lambda r: (_market_line(r), console.print(
        f"bids {r['summary']['bids']}, cleared {r['summary']['cleared_bids']}, unserved {r['summary']['unserved']}, "
        f"{r['summary']['cleared_chip_hours']:,.0f} chip-hours", highlight=False)))


@market_app.command("prices")
def market_prices(market_id: str = typer.Argument(...), csv: bool = typer.Option(False, "--csv", help="print CSV"),
                  server: str = SERVER, as_json: bool = JSON) -> None:
    """Published prices per (pool, interval) (public, no key)."""
    with _client(server, None) as c:
        if csv:
            sys.stdout.write(c.prices(market_id, csv=True))
            return
        rows = c.prices(market_id)
    traded = [p for p in rows if p["cleared_chips"] > 0]
    emit({"prices": rows}, as_json, lambda r: _rows(
        f"{market_id}: {len(traded)} of {len(rows)} traded (USD/chip-h)",
        ["pool", "interval", "$/chip-h", "cleared chips"],
        [[p["pool"], p["interval"], f"{p['price_per_chip_hour']:.2f}", p["cleared_chips"]] for p in traded[:40]]))


@market_app.command("settle")
def market_settle(market_id: str = typer.Argument(...), server: str = SERVER, key: str | None = KEY,
                  as_json: bool = JSON) -> None:
    """Settle a cleared market against its readings (operator)."""
    with _client(server, key) as c:
        emit(c.settle_market(market_id), as_json, _market_line)


def statement_cmd(market: str = typer.Option(..., "--market", help="a settled market's id"),
                  server: str = SERVER, key: str | None = KEY, as_json: bool = JSON) -> None:
    """Your statement for a settled market (operator: everyone's)."""
    with _client(server, key) as c:
        sts = c.statements(market)
    emit({"statements": sts}, as_json, lambda r: _rows(
        f"statements of {market} (USD; + receives, - pays)",
        ["participant", "positions", "day-ahead", "real-time", "uplift", "net", "balanced"],
        [[s["participant"], len(s["positions"]), f"{s['day_ahead_usd']:,.2f}", f"{s['real_time_usd']:,.2f}",
          f"{s['uplift_usd']:,.2f}", f"{s['net_usd']:,.2f}", s["balanced"]] for s in r["statements"]]))


def register(app: typer.Typer) -> None:
    app.add_typer(pool_app, name="pool")
    app.add_typer(bid_app, name="bid")
    app.add_typer(market_app, name="market")
    app.command("statement")(statement_cmd)
