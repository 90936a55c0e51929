"""``letsnode run``: the node, its wallet and API, and its libp2p host, until Ctrl-C."""

from __future__ import annotations

import errno
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from letsnode.cli.common import Context, fail, pass_ctx
from letsnode.core.errors import LetsError
from letsnode.http import HTTP_SERVERS, HttpServerKind, split_host_port
from letsnode.net.peerid import peer_id_from_community_id

if TYPE_CHECKING:
    import trio


def _host_port(value: str) -> str:
    try:
        split_host_port(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    return value


@click.command()
@click.option(
    "--http",
    default="127.0.0.1:8080",
    show_default=True,
    callback=lambda ctx, param, value: _host_port(value),
    help="Address the wallet and JSON API listen on (HOST:PORT; port 0 picks a free one).",
)
@click.option(
    "--http-server",
    type=click.Choice(HTTP_SERVERS),
    default="letsnode",
    show_default=True,
    help="Who serves HTTP: the node's own HTTP/1.1 server, or Hypercorn.",
)
@click.option(
    "--listen",
    multiple=True,
    default=["/ip4/127.0.0.1/tcp/0"],
    show_default=True,
    help="libp2p address(es) for partner nodes (repeatable).",
)
@click.option(
    "--peer",
    "peers",
    multiple=True,
    help="A partner's full address .../tcp/PORT/p2p/PEER_ID to dial at start (repeatable); "
    "partners met before are remembered and redialled.",
)
@click.option(
    "--clearing-every",
    type=click.FloatRange(10, 7 * 24 * 3600),
    default=None,
    metavar="SECONDS",
    help="Coordinate a clearing round with the partner communities this often "
    "(default: only when 'letsnode clearing run' asks).",
)
@pass_ctx
def run(
    obj: Context,
    http: str,
    http_server: HttpServerKind,
    listen: tuple[str, ...],
    peers: tuple[str, ...],
    clearing_every: float | None,
) -> None:
    """Run the node: the members' web wallet, the JSON API and the libp2p host, until Ctrl-C.

    While it runs, the other letsnode commands on this data folder act through it.
    """
    import trio

    from letsnode.federation.service import FederationConfig
    from letsnode.node.facade import Node
    from letsnode.node.run import run_node

    def announce(node: Node) -> None:
        assert node.federation is not None
        click.echo(f"letsnode: {node.community.genesis.name} is running")
        click.echo(f"peer id  {peer_id_from_community_id(node.community_id)}")
        for addr in node.federation.transport.listen_addrs():
            click.echo(f"address  {addr}")

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stop_on_signal, nursery.cancel_scope)
            url = await nursery.start(
                lambda task_status: run_node(
                    obj.data,
                    http,
                    task_status=task_status,
                    listen=listen,
                    peers=peers,
                    announce=announce,
                    federation_config=FederationConfig(clearing_every_s=clearing_every),
                    http_server=http_server,
                )
            )
            click.echo(f"wallet   {url}/  (API: {url}/api/openapi.json)")
            if not http.startswith(("127.", "localhost", "[::1]")):
                click.echo(
                    "note: browsers give the wallet its keys (WebCrypto) only over https or on "
                    "localhost: serve members through a TLS reverse proxy"
                )

    try:
        trio.run(serve)
        click.echo("stopped")
    except KeyboardInterrupt:
        click.echo("stopped")
    except (LetsError, OSError, BaseExceptionGroup) as error:
        cause = user_error(error)
        if cause is None:
            raise
        if isinstance(cause, KeyboardInterrupt):
            click.echo("stopped")
        else:
            fail(cause)


async def stop_on_signal(scope: trio.CancelScope) -> None:
    """Stop the node cleanly on SIGINT (Ctrl-C) or SIGTERM (a service manager, ``kill``).

    The handlers are installed here rather than inherited: a node started in the background
    of a shell script inherits SIGINT ignored, and Python then never raises Ctrl-C's
    KeyboardInterrupt, so such a node would not stop when asked."""
    import trio

    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            scope.cancel()
            return


def user_error(error: BaseException) -> LetsError | KeyboardInterrupt | None:
    """What a failed start or run comes down to when the user can act on it: the first
    LetsError (a second node on the folder, a folder with no community, ...) or OSError
    (an address in use, a file in the way) inside the exception groups of the node's
    nurseries, as a LetsError; Ctrl-C when that is all there is; None for anything else
    (a bug: its traceback is printed)."""
    leaves = list(_leaves(error))
    for leaf in leaves:
        if isinstance(leaf, LetsError):
            return leaf
    for leaf in leaves:
        if isinstance(leaf, OSError):
            return _os_error(leaf)
    if leaves and all(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
        return KeyboardInterrupt()
    return None


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


def _os_error(error: OSError) -> LetsError:
    if error.errno == errno.EADDRINUSE:
        return LetsError(f"cannot listen: {error.strerror or error}", code="address_in_use")
    where = f": {error.filename}" if error.filename else ""
    return LetsError(f"{error.strerror or error}{where}", code="os_error")
