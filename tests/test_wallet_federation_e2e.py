"""Paying another community from the wallet, end to end: three ``run_node``s (communities
a, b and c, each in its own thread with its own ``trio.run``, real libp2p on 127.0.0.1),
credit lines a–b and b–c, and a member of a who joins in a real Chromium and pays
``karim@c``; the payment travels a → b → c and the wallet says it arrived.

Screenshots (360 px wide) are saved under test-output/screenshots/.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio

from letsnode.community.folder import Community
from letsnode.core.errors import LetsError
from letsnode.federation.service import FederationConfig
from letsnode.node.facade import Node
from letsnode.node.run import run_node

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
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
PHONE = {"width": 360, "height": 760}
LINE = 5000  # 50.00 HOUR each way
FEDERATION = FederationConfig(advert_interval_s=0.5, tick_s=0.2)

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing: scripts/install-browser.sh installs it")
    pytest.skip("no /usr/bin/chromium (run scripts/install-browser.sh)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

T = TypeVar("T")


def make_bank(folder: Path, short: str, name: str) -> Path:
    c = Community.create(
        folder, name=name, short=short, unit="HOUR", scale=2, floor=-2000, ceiling=4000
    )
    c.close()
    return folder


class NodeThread:
    """``run_node`` with its federation, in a thread of its own, on free ports of
    127.0.0.1; ``call`` runs a function in the node's trio thread."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.url = ""
        self.node: Node | None = None
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"node-{data.name}", daemon=True)

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as err:  # reported by wait() / stop()
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
                    federation_config=FEDERATION,
                    announce=self._announce,
                )
            )

    def _announce(self, node: Node) -> None:
        self.node = node
        self.ready.set()

    def wait(self) -> None:
        assert self.ready.wait(30), f"node {self.data.name} did not start"
        if self.error is not None:
            raise self.error

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` (sync or async) in the node's own trio thread."""

        async def run() -> Any:
            value = fn(*args)
            return await value if hasattr(value, "__await__") else value

        return trio.from_thread.run(run, trio_token=self.token)

    @property
    def fed(self):  # type: ignore[no-untyped-def]
        assert self.node is not None and self.node.federation is not None
        return self.node.federation

    @property
    def id(self) -> bytes:
        assert self.node is not None
        return self.node.community_id

    def stop(self) -> None:
        if self.thread.is_alive() and self.error is None:
            trio.from_thread.run_sync(self.scope.cancel, trio_token=self.token)
        self.thread.join(20)
        if self.error is not None:
            raise self.error


def open_line(x: NodeThread, y: NodeThread) -> None:
    x.call(x.fed.transport.connect, y.call(lambda: y.fed.transport.listen_addrs()[0]))
    proposal = x.call(x.fed.lines.propose, y.id, LINE, LINE)
    y.call(y.fed.lines.accept, proposal.id)


def eventually(check: Callable[[], T], seconds: float = 20) -> T:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


@pytest.fixture
def network(tmp_path: Path) -> Iterator[tuple[NodeThread, NodeThread, NodeThread, str]]:
    """Communities a, b, c running, lines a–b and b–c, a route from a to c; yields the three
    nodes and an invite to a."""
    datas = [
        make_bank(tmp_path / "a", "a", "Alder Time Bank"),
        make_bank(tmp_path / "b", "b", "Birch Time Bank"),
        make_bank(tmp_path / "c", "c", "Cedar Time Bank"),
    ]
    with Community.opened(datas[2]) as c:
        c.admit("karim")
    node = Node.open(datas[0])
    invite = node.joins.create_invite(1, 1)
    node.close()
    a, b, c = runners = [NodeThread(d) for d in datas]
    for runner in runners:
        runner.thread.start()
    try:
        for runner in runners:
            runner.wait()
        open_line(a, b)
        open_line(b, c)

        def route_to_c() -> bool:
            for runner in runners:
                runner.call(runner.fed.publish_advert)

            def find() -> bool:
                a.fed.refresh_own_advert()
                try:
                    a.fed.routes.find(a.id, c.id, 250, a.fed.config.timing.max_hops)
                except LetsError:
                    return False
                return True

            return bool(a.call(find))

        assert eventually(route_to_c), "a never learned a route to c"
        yield a, b, c, invite
    finally:
        # c, then b, then a: each node stops after the peers it dialled, whose going away
        # has closed its outgoing connections. (A run_node stopped while a peer it dialled
        # is still up leaves that TCP socket open: a ResourceWarning.)
        for runner in reversed(runners):
            runner.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def nav(page: Any, name: str) -> Any:
    """A link of the wallet's bottom tab bar."""
    return page.locator("#tabs").get_by_role("link", name=name, exact=True)


def test_a_member_pays_a_member_of_a_community_two_lines_away(network, browser) -> None:  # type: ignore[no-untyped-def]
    a, _, c, invite = network
    expect.set_options(timeout=15_000)
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

        page.goto(f"{a.url}/#/join?invite={invite}")
        page.get_by_label("Your name in the community").fill("maria")
        page.get_by_role("button", name="Join").click()
        expect(page.get_by_role("heading", name="Hello, maria")).to_be_visible()

        # The payee is written handle@community: found before the review, which names the
        # community.
        nav(page, "Pay").click()
        page.get_by_label("Pay to").fill("karim@c")
        expect(page.get_by_text("✓ karim, member of Cedar Time Bank")).to_be_visible()
        page.get_by_label("Amount (hours)").fill("2,5")
        page.get_by_label("What is it for? (optional)").fill("Couscous")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="Check and pay")).to_be_visible()
        summary = page.locator(".summary")
        expect(summary).to_contain_text("2.5 hours")
        expect(summary).to_contain_text("to karim@c")
        expect(summary).to_contain_text("Couscous")
        expect(page.locator("dl.figures").first).to_contain_text("Cedar Time Bank (c)")
        shot(page, "21-remote-pay-confirm")

        # While the payment travels the wallet says so (the request is held here a moment
        # so that the state can be seen).
        held: list[Any] = []
        page.route(
            "**/api/transfers",
            lambda route: (
                held.append(route) if route.request.method == "POST" else route.continue_()
            ),
        )
        page.get_by_role("button", name="Pay now").click()
        expect(page.get_by_text("Sending through the partner communities…")).to_be_visible()
        expect(page.get_by_role("button", name="Pay now")).to_be_disabled()
        shot(page, "22-remote-pay-sending")
        assert len(held) == 1
        held[0].continue_()
        page.unroute("**/api/transfers")
        expect(page.get_by_text("Paid 2.5 hours to karim@c.")).to_be_visible()
        expect(page.get_by_text("karim@c received 2.5 hours.")).to_be_visible()
        expect(page.get_by_text("Your balance is now -2.5 hours.")).to_be_visible()
        assert "#/pay/sent" in page.url, page.url
        shot(page, "23-remote-paid")

        # Karim's account in community c received it once the legs settle.
        assert eventually(lambda: c.call(lambda: c.node.account("karim").balance) == 250)
        assert a.call(lambda: a.node.account("maria").balance) == -250

        # Home and history list the payment with where it stands.
        nav(page, "Home").click()
        expect(page.locator("#balance")).to_have_text("-2.5 hours")
        item = page.locator(".activity li").filter(has_text="karim@c")
        expect(item).to_contain_text("done")
        expect(item).to_contain_text("-2.5 hours")
        nav(page, "History").click()
        row = page.get_by_role("row").filter(has_text="karim@c")
        expect(row).to_contain_text("Couscous")
        expect(row).to_contain_text("done")
        shot(page, "24-history-other-communities")

        # The same in Arabic, right to left.
        page.get_by_label("Language").select_option("ar")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.get_by_role("heading", name="مع مجتمعات أخرى")).to_be_visible()
        expect(page.get_by_role("row").filter(has_text="karim@c")).to_contain_text("تمّت")
        shot(page, "25-history-other-communities-arabic")
        assert errors == []
    finally:
        context.close()
