"""Prometheus exporter of a live meter (prometheus_client), served on an optional port.

Metrics (labels `run`, `rank`):
- gauges `flopgrid_mfu`, `flopgrid_tokens_per_second` (this session's steps so far);
- counters `flopgrid_useful_flops_total`, `flopgrid_steps_total`,
  `flopgrid_badput_seconds_total{category}`.

Each exporter has its own registry, so several meters in one process do not clash.
"""

from __future__ import annotations


class PrometheusExporter:
    def __init__(self, run: str, rank: int, port: int | None = None, addr: str = "127.0.0.1") -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge

        self.registry = CollectorRegistry()
        labels = ("run", "rank")
        self._labels = {"run": run, "rank": str(rank)}
        self.mfu = Gauge("flopgrid_mfu", "model FLOPs utilization of this rank", labels, registry=self.registry)
        self.tps = Gauge("flopgrid_tokens_per_second", "tokens per productive second of this rank", labels,
                         registry=self.registry)
        self.useful = Counter("flopgrid_useful_flops", "useful (model) FLOPs done", labels, registry=self.registry)
        self.steps = Counter("flopgrid_steps", "training steps done", labels, registry=self.registry)
        self.badput = Counter("flopgrid_badput_seconds", "badput seconds by category", (*labels, "category"),
                              registry=self.registry)
        self.server = None
        self.port: int | None = None
        if port is not None:
            from prometheus_client import start_http_server

            from flopgrid.errors import UserInputError

            try:
                self.server, _thread = start_http_server(port, addr=addr, registry=self.registry)
            except OSError as exc:
                raise UserInputError(f"cannot serve /metrics on {addr}:{port}: {exc.strerror or exc}") from None
            except OverflowError:
                raise UserInputError(f"port {port} is not a TCP port (0-65535)") from None
            self.port = self.server.server_address[1]

    def on_step(self, mfu: float, tokens_per_second: float, useful_flops: float) -> None:
        self.mfu.labels(**self._labels).set(mfu)
        self.tps.labels(**self._labels).set(tokens_per_second)
        self.useful.labels(**self._labels).inc(useful_flops)
        self.steps.labels(**self._labels).inc()

    def add_badput(self, category: str, seconds: float) -> None:
        if seconds > 0:
            self.badput.labels(**self._labels, category=category).inc(seconds)

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
