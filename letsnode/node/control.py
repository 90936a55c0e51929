"""The local control channel: while ``letsnode run`` holds a data folder, other ``letsnode``
commands on that folder act through the running node, which stays the only writer.

The node holds an exclusive lock on ``D/node.lock`` and listens on the Unix socket
``D/control.sock`` (mode 600 inside the 700 data folder: only the folder's owner can use
it). One request per connection: a JSON object ``{"cmd": ..., "args": {...}}`` on one line;
the answer is ``{"ok": true, "result": ...}`` or ``{"ok": false, "code": ..., "message":
...}``. A command with no node running opens the folder directly, as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import trio

from letsnode.core.errors import InvalidInput, LetsError

log = logging.getLogger(__name__)

SOCKET_NAME = "control.sock"
LOCK_NAME = "node.lock"
MAX_REQUEST = 64 * 1024

Command = Callable[[dict[str, Any]], Awaitable[Any]]


class NodeBusy(LetsError):
    code = "node_running"


class ControlError(LetsError):
    """An error the running node reported; carries the node's code."""


@contextmanager
def hold_folder(data: Path) -> Iterator[None]:
    """Take the data folder's node lock for as long as the node runs."""
    fd = os.open(data / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NodeBusy(f"a node is already running on {data}") from None
        yield
    finally:
        os.close(fd)


def node_running(data: Path) -> bool:
    path = data / LOCK_NAME
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


# -- server (inside the node's trio process) -------------------------------------------


async def serve_control(
    data: Path,
    commands: dict[str, Command],
    *,
    task_status: trio.TaskStatus[Path] = trio.TASK_STATUS_IGNORED,
) -> None:
    path = data / SOCKET_NAME
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
    """A client when a node is running on ``data``, else None (work on the folder)."""
    return ControlClient(data) if node_running(data) else None
