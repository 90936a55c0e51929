"""What the wallet's browser tests share: a node in a thread of its own (``run_node`` with
its own ``trio.run`` on 127.0.0.1, as ``letsnode run`` does), Debian's Chromium driven by
Playwright's sync API at phone size, pages that record every console error, and the
steps most tests take (joining, the tab bar).

Each test module starts one node and one browser and gives each test fresh contexts
(cookies, IndexedDB and service workers are per context)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio

from letsnode.node.facade import Node
from letsnode.node.run import run_node
from letsnode.web.common import Limits

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-output" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 360, "height": 740}
TIMEOUT_MS = 15_000

T = TypeVar("T")


def require_chromium() -> Any:
    """Playwright's sync API, or skip the module (fail on CI) when there is no browser."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            raise RuntimeError("chromium is missing: scripts/install-browser.sh installs it")
        reason = "no /usr/bin/chromium (run scripts/install-browser.sh)"
        pytest.skip(reason, allow_module_level=True)
    return pytest.importorskip("playwright.sync_api")


class NodeThread:
    """``run_node`` in a thread of its own, on a free port of 127.0.0.1; ``call`` runs a
    function (sync or async) on the node's own trio thread."""

    def __init__(self, data: Path, limits: Limits | None = None) -> None:
        self.data = data
        # Every page of a test module comes from 127.0.0.1: joins at a crowd's pace.
        self.limits = limits or Limits(joins_per_address=(10, 100))
        self.url = ""
        self.node: Node | None = None
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="letsnode-node", daemon=True)

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as err:  # reported by start() / stop()
            self.error = err
            self.ready.set()

    async def _main(self) -> None:
        self.token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            self.scope = nursery.cancel_scope
            self.url = await nursery.start(
                partial(
                    run_node,
                    self.data,
                    "127.0.0.1:0",
                    announce=self._announce,
                    app_options={"limits": self.limits},
                )
            )
            self.ready.set()

    def _announce(self, node: Node) -> None:
        self.node = node

    def start(self) -> str:
        self.thread.start()
        assert self.ready.wait(30), "the node did not start"
        if self.error is not None:
            raise self.error
        return self.url

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        async def run() -> Any:
            value = fn(*args)
            return await value if hasattr(value, "__await__") else value

        return trio.from_thread.run(run, trio_token=self.token)

    def stop(self) -> None:
        if self.thread.is_alive() and self.error is None:
            trio.from_thread.run_sync(self.scope.cancel, trio_token=self.token)
        self.thread.join(20)
        if self.error is not None:
            raise self.error


class Console:
    """Every console error and uncaught exception of the pages it watches."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any) -> Any:
        def heard(msg: Any) -> None:
            if msg.type == "error":
                self.errors.append(f"{page.url}: {msg.text}")

        page.on("console", heard)
        page.on("pageerror", lambda err: self.errors.append(f"{page.url}: {err}"))
        return page

    def check(self) -> None:
        assert self.errors == [], self.errors


def launch(sync_api: Any, pw: Any, extra_args: tuple[str, ...] = ()) -> Any:
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=[*LAUNCH_ARGS, *extra_args])


def shot(page: Any, name: str, folder: Path = SHOTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def tab(page: Any, name: str) -> Any:
    """A link of the bottom tab bar."""
    return page.locator("#tabs").get_by_role("link", name=name, exact=True)


def join(page: Any, url: str, handle: str, invite: str = "") -> None:
    page.goto(f"{url}/#/join?invite={invite}" if invite else f"{url}/")
    page.get_by_label("Your name in the community").fill(handle)
    page.get_by_role("button", name="Join").click()


def member_page(browser: Any, console: Console, **options: Any) -> tuple[Any, Any]:
    context = browser.new_context(viewport=PHONE, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context, console.watch(context.new_page())


def qr_video(text: str, path: Path, side: int = 480, frames: int = 4) -> Path:
    """A Y4M video of the QR code of ``text``, which Chromium's fake camera
    (``--use-file-for-fake-video-capture``) shows to the page as the phone's camera."""
    import segno

    matrix = [list(row) for row in segno.make(text, error="m").matrix]
    quiet = 4
    cells = len(matrix) + 2 * quiet
    scale = side // cells
    image = bytearray([235]) * (side * side)  # luma: white
    offset = (side - cells * scale) // 2
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if not dark:
                continue
            top = offset + (y + quiet) * scale
            left = offset + (x + quiet) * scale
            for dy in range(scale):
                start = (top + dy) * side + left
                image[start : start + scale] = bytes([16]) * scale
    chroma = bytes([128]) * ((side // 2) * (side // 2) * 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{side} H{side} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + bytes(image) + chroma)
    return path


def fake_camera(video: Path) -> tuple[str, ...]:
    return (
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
