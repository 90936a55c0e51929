"""The local control channel: while ``letsnode run`` holds a data folder, other ``letsnode``
commands on that folder act through the running node, which stays the only writer.

The node holds the folder's writer lock (``letsnode.community.lock``) for its whole life
and listens on the Unix socket ``D/control.sock`` (mode 600 inside the 700 data folder:
only the folder's owner can use it). One request per connection: a JSON object ``{"cmd":
..., "args": {...}}`` on one line; the answer is ``{"ok": true, "result": ...}`` or
``{"ok": false, "code": ..., "message": ...}``.

A command that writes (``writer``) goes through the node when one answers; otherwise it
takes the writer lock itself and writes to the folder directly, so a node that starts
meanwhile waits for it, and loads the state only once it holds the lock.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import trio

from letsnode.community.lock import FolderBusy, FolderLock
from letsnode.core.errors import InvalidInput, LetsError

log = logging.getLogger(__name__)

SOCKET_NAME = "control.sock"
MAX_REQUEST = 64 * 1024
# How long a node waits at start for a command's direct write to end, and a command for a
# starting node to answer or another command to finish (either takes well under a second).
WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.05

Command = Callable[[dict[str, Any]], Awaitable[Any]]


class NodeBusy(LetsError):
    code = "node_running"


class ControlError(LetsError):
    """An error the running node reported; carries the node's code."""


@asynccontextmanager
async def hold_folder(data: Path, wait_s: float = WAIT_SECONDS) -> AsyncIterator[None]:
    """Hold the data folder's writer lock for as long as the node runs.

    Raises NodeBusy at once if another node answers on the folder; waits up to ``wait_s``
    seconds for a command writing to it to finish (FolderBusy after that).
    """
    lock = FolderLock(data)
    deadline = trio.current_time() + wait_s
    while not lock.try_acquire():
        if answering(data):
            raise NodeBusy(f"a node is already running on {data}")
        if trio.current_time() > deadline:
            raise FolderBusy(f"{data} stayed locked by another writer for {wait_s:.0f} s")
        await trio.sleep(_POLL_SECONDS)
    try:
        yield
    finally:
        lock.release()


def answering(data: Path) -> bool:
    """True when a node listens on ``data``'s control socket (it may still be starting)."""
    path = data / SOCKET_NAME
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False  # a socket file left by a node that was killed
    return True


@contextmanager
def writer(data: Path, wait_s: float = WAIT_SECONDS) -> Iterator[ControlClient | None]:
    """How a command writes to ``data``: through the running node (a ControlClient), or,
    when none runs, directly, holding the writer lock until the block ends (None).

    Waits up to ``wait_s`` seconds for a starting node to answer or for another command's
    write to end, then raises FolderBusy.
    """
    lock = FolderLock(data)
    deadline = time.monotonic() + wait_s
    while True:
        if answering(data):
            yield ControlClient(data)
            return
        if lock.try_acquire():
            break
        if time.monotonic() > deadline:
            raise FolderBusy(
                f"{data} is busy: a node is starting there or another command writes to it; "
                "try again"
            )
        time.sleep(_POLL_SECONDS)
    try:
        yield None
    finally:
        lock.release()


# -- server (inside the node's trio process) -------------------------------------------


async def serve_control(
    data: Path,
    commands: dict[str, Command],
    *,
    task_status: trio.TaskStatus[Path] = trio.TASK_STATUS_IGNORED,
) -> None:
    path = data / SOCKET_NAME
    if path.is_dir() or (path.exists() and not path.is_socket()):
        raise InvalidInput(f"{path} is in the way of the node's control socket: remove it")
    path.unlink(missing_ok=True)
    listener = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    with listener:
        await listener.bind(str(path))
        os.chmod(path, 0o600)
        listener.listen(16)
        try:
            async with trio.open_nursery() as nursery:
                task_status.started(path)
                while True:
                    conn, _ = await listener.accept()
                    nursery.start_soon(_serve_one, conn, commands)
        finally:
            path.unlink(missing_ok=True)


async def _serve_one(conn: trio.socket.SocketType, commands: dict[str, Command]) -> None:
    async with trio.SocketStream(conn) as stream:
        try:
            with trio.fail_after(10):
                raw = await _read_line(stream)
            request = json.loads(raw)
            if not isinstance(request, dict) or not isinstance(request.get("args", {}), dict):
                raise InvalidInput("a control request is a JSON object with cmd and args")
            command = commands.get(str(request.get("cmd")))
            if command is None:
                raise InvalidInput(f"unknown control command {request.get('cmd')!r}")
            answer: dict[str, Any] = {"ok": True, "result": await command(request.get("args", {}))}
        except LetsError as err:
            answer = {"ok": False, "code": err.code, "message": str(err)}
        except (ValueError, KeyError, TypeError, trio.TooSlowError) as err:
            answer = {"ok": False, "code": "bad_request", "message": f"bad request: {err!r}"}
        except Exception as err:  # never let one request take the node down
            log.exception("control command failed")
            answer = {"ok": False, "code": "internal_error", "message": repr(err)}
        with trio.move_on_after(10), contextlib.suppress(trio.BrokenResourceError):
            await stream.send_all(json.dumps(answer).encode() + b"\n")


async def _read_line(stream: trio.SocketStream) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = await stream.receive_some(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REQUEST:
            raise InvalidInput("control request too large")
    return data


# -- client (the CLI, synchronous) ---------------------------------------------------------


class ControlClient:
    def __init__(self, data: Path) -> None:
        self.path = data / SOCKET_NAME

    def call(self, cmd: str, timeout: float = 120.0, **args: Any) -> Any:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            try:
                sock.connect(str(self.path))
                sock.sendall(json.dumps({"cmd": cmd, "args": args}).encode() + b"\n")
                data = b""
                while not data.endswith(b"\n"):
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except OSError as err:
                raise NodeBusy(
                    f"the node running on {self.path.parent} does not answer: {err}"
                ) from None
        try:
            answer = json.loads(data)
        except ValueError:
            raise NodeBusy(f"the node running on {self.path.parent} gave no answer") from None
        if not answer.get("ok"):
            raise ControlError(
                answer.get("message", "the node refused"), code=answer.get("code", "error")
            )
        return answer["result"]


def client_for(data: Path) -> ControlClient | None:
    """A client when a node answers on ``data``, else None (read the folder directly)."""
    return ControlClient(data) if answering(data) else None
