"""``run_node``: the running node, wired together in one trio process.

The composition root: it opens the data folder (holding its lock for the node's whole
life), the ledger writer, the libp2p host, the federation, the control socket through
which other ``letsnode`` commands act, and the HTTP server for the wallet and API.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import trio

from letsnode.audit.pool import PoolKind, VerifyPool
from letsnode.community.folder import DB_NAME, Community, now_ms
from letsnode.core import crypto
from letsnode.federation.peers import Partners
from letsnode.federation.service import Federation, FederationConfig
from letsnode.http import HttpServerKind, split_host_port
from letsnode.net.libp2p.host import open_libp2p_transport
from letsnode.node.commands import control_commands
from letsnode.node.control import hold_folder, serve_control
from letsnode.node.facade import Node
from letsnode.node.ingest import open_ledger_writer
from letsnode.store.db import connect
from letsnode.store.federation_store import FederationStore
from letsnode.web.app import create_app


async def run_node(
    data: Path,
    http: str = "127.0.0.1:8080",
    *,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
    app_options: dict[str, Any] | None = None,
    verify_pool: PoolKind = "inline",
    listen: Sequence[str] = ("/ip4/127.0.0.1/tcp/0",),
    peers: Sequence[str] = (),
    federation_config: FederationConfig | None = None,
    announce: Callable[[Node], None] | None = None,
    http_server: HttpServerKind = "letsnode",
) -> None:
    """Open the community in ``data`` and run it until cancelled: the wallet and API on
    ``http``, the libp2p host on ``listen`` (dialling ``peers`` and remembered partners),
    the federation, and the control socket other ``letsnode`` commands use. Reports the
    base URL (``http://host:port``, the real port when 0 was asked) through ``task_status``
    and calls ``announce(node)`` once everything listens. ``http_server`` picks who serves
    HTTP: the node's own HTTP/1.1 server (``letsnode.http``, the default and the lighter)
    or Hypercorn."""

    if not crypto.signing():
        raise RuntimeError("a node never runs inside crypto.unsigned(): it is for simulations")
    if not (data / DB_NAME).exists():
        Community.open(data)  # raises the error that says how to create one
    async with hold_folder(data):
        node = Node.open(data)
        pool: VerifyPool | None = None
        fed_db = None
        try:
            host, port = split_host_port(http)
            app = create_app(node, **(app_options or {}))
            pool = VerifyPool(verify_pool)
            fed_db = connect(data / DB_NAME)  # its own connection: see FederationStore
            fed_store = FederationStore(fed_db.conn)
            partners = Partners(lambda: node.ledger, fed_store, now_ms)
            async with (
                open_ledger_writer(node.community, pool=pool) as writer,
                open_libp2p_transport(
                    node.key.seed,
                    listen,
                    peers,
                    known_peers=partners.known(),
                    on_peer=partners.met,
                ) as transport,
                trio.open_nursery() as nursery,
            ):
                node.writer = writer
                node.federation = Federation(
                    node, transport, fed_store, federation_config, partners
                )
                await nursery.start(node.federation.run)
                await nursery.start(serve_control, data, control_commands(node))
                urls: list[str] = await nursery.start(serve_http, app, host, port, http_server)
                # What is loaded by now (modules, the ledger's accounts, libp2p) lives as long
                # as the node: the cyclic GC need not walk it again on every full collection
                # (a pause of about 70 ms with a small ledger, longer with more accounts,
                # which under load showed in the p99 latency of payments).
                gc.collect()
                gc.freeze()
                url = urls[0] if urls else f"http://{http}"
                task_status.started(url)
                if announce is not None:
                    announce(node)
        finally:
            node.writer = None
            node.federation = None
            if pool is not None:
                pool.close()
            if fed_db is not None:
                fed_db.conn.close()
            node.close()
            gc.unfreeze()  # a process that goes on (tests) may collect this node's cycles


async def serve_http(
    app: Any,
    host: str,
    port: int,
    kind: HttpServerKind,
    *,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` over HTTP on ``host``:``port`` with the server ``kind`` until
    cancelled; reports the URLs it listens on."""
    if kind == "letsnode":
        from letsnode.http.server import serve

        await serve(app, host, port, task_status=task_status)
        return
    from hypercorn.config import Config
    from hypercorn.trio import serve as hypercorn_serve

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.include_server_header = False
    config.graceful_timeout = 1
    config.h2_max_inbound_frame_size = 16 * 1024
    await hypercorn_serve(app, config, task_status=task_status)
