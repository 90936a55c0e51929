"""The wallet end to end in a real Chromium (Debian's, driven by Playwright's sync API):
two members join, a steward approves, one pays the other and both balances update live;
history and CSV; offers; a refused payment; Arabic laid out right to left.

The node runs in its own thread with its own ``trio.run`` on 127.0.0.1 (port 0), as
``letsnode run`` does. Screenshots of the main screens (360 px wide) are saved under
test-output/screenshots/.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import trio

from letsnode.node.facade import Node
from letsnode.node.run import run_node
from tests.web_helpers import make_community

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

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing: scripts/install-browser.sh installs it")
    pytest.skip("no /usr/bin/chromium (run scripts/install-browser.sh)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


class NodeThread:
    """``run_node`` in a thread of its own, on a free port of 127.0.0.1."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.url = ""
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
            self.url = await nursery.start(partial(run_node, self.data, "127.0.0.1:0"))
            self.ready.set()

    def start(self) -> str:
        self.thread.start()
        assert self.ready.wait(20), "the node did not start"
        if self.error is not None:
            raise self.error
        return self.url

    def stop(self) -> None:
        trio.from_thread.run_sync(self.scope.cancel, trio_token=self.token)
        self.thread.join(20)
        if self.error is not None:
            raise self.error


@pytest.fixture
def community(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A running node; yields its URL and a steward invite code."""
    data = make_community(tmp_path / "bank")
    node = Node.open(data)
    steward_invite = node.joins.create_invite(1, 1, steward=True)
    node.close()
    runner = NodeThread(data)
    url = runner.start()
    try:
        yield url, steward_invite
    finally:
        runner.stop()


@pytest.fixture
def browser() -> Iterator[object]:
    # launch() starts Chromium with a fresh temporary profile (user-data-dir) of its own,
    # and each new_context() is isolated from the others (cookies, IndexedDB).
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def nav(page, name: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("navigation").get_by_role("link", name=name, exact=True)


def join(page, url: str, handle: str, invite: str = ""):  # type: ignore[no-untyped-def]
    page.goto(f"{url}/#/join?invite={invite}" if invite else f"{url}/")
    page.get_by_label("Your name in the community").fill(handle)
    page.get_by_role("button", name="Join").click()


def test_two_members_join_pay_and_see_it_live(community, browser) -> None:  # type: ignore[no-untyped-def]
    url, steward_invite = community
    expect.set_options(timeout=15_000)
    amina_ctx = browser.new_context(viewport=PHONE, accept_downloads=True)
    bruno_ctx = browser.new_context(viewport=PHONE, accept_downloads=True)
    try:
        amina, bruno = amina_ctx.new_page(), bruno_ctx.new_page()
        errors: list[str] = []
        for page in (amina, bruno):
            page.on("pageerror", lambda err: errors.append(str(err)))

        # Amina joins with the operator's steward invite: admitted at once.
        bruno.goto(f"{url}/")
        expect(bruno.get_by_role("heading", name="Join Test Time Bank")).to_be_visible()
        shot(bruno, "01-join")
        join(amina, url, "amina", steward_invite)
        expect(amina.get_by_role("heading", name="Hello, amina")).to_be_visible()

        # Bruno asks without an invite and waits; Amina approves him as a steward.
        join(bruno, url, "bruno")
        expect(bruno.get_by_role("heading", name="Waiting for approval")).to_be_visible()
        shot(bruno, "02-waiting-for-approval")
        nav(amina, "Stewards").click()
        amina.get_by_role("button", name="Approve bruno").click()
        expect(amina.get_by_text("bruno can now pay and be paid.")).to_be_visible()
        amina.get_by_role("button", name="Check the ledger now").click()
        expect(
            amina.get_by_text(re.compile(r"All good: \d+ entries and 2 accounts"))
        ).to_be_visible()
        shot(amina, "03-stewards")
        expect(bruno.get_by_role("heading", name="Hello, bruno")).to_be_visible()
        expect(bruno.locator("#balance")).to_have_text("0.00 HOUR")

        # Amina pays Bruno: a confirm step shows what will be signed; both update live.
        nav(amina, "Pay").click()
        amina.get_by_label("Pay to").fill("bruno")
        amina.get_by_label("Amount (HOUR)").fill("2,5")
        amina.get_by_label("What is it for? (optional)").fill("Soup <b>& bread</b>")
        amina.get_by_role("button", name="Continue").click()
        expect(amina.get_by_role("heading", name="Check and confirm")).to_be_visible()
        expect(amina.get_by_text("Soup <b>& bread</b>")).to_be_visible()
        shot(amina, "04-pay-confirm")
        amina.get_by_role("button", name="Confirm and pay").click()
        expect(amina.get_by_text("Paid 2.50 HOUR to bruno.")).to_be_visible()
        shot(amina, "05-paid")
        expect(bruno.locator("#balance")).to_have_text("2.50 HOUR")  # live, no reload
        expect(bruno.get_by_text("You received 2.50 HOUR from amina")).to_be_visible()
        shot(bruno, "06-home-after-payment")
        nav(amina, "Home").click()
        expect(amina.locator("#balance")).to_have_text("-2.50 HOUR")

        # A payment beyond the floor is refused in plain words and changes nothing.
        nav(amina, "Pay").click()
        amina.get_by_label("Pay to").fill("bruno")
        amina.get_by_label("Amount (HOUR)").fill("100")
        amina.get_by_role("button", name="Continue").click()
        amina.get_by_role("button", name="Confirm and pay").click()
        expect(amina.get_by_role("alert")).to_contain_text("below your floor")
        shot(amina, "07-pay-refused")
        nav(amina, "Home").click()
        expect(amina.locator("#balance")).to_have_text("-2.50 HOUR")
        expect(bruno.locator("#balance")).to_have_text("2.50 HOUR")

        # History, filtered, and its CSV export.
        nav(bruno, "History").click()
        row = bruno.get_by_role("row").filter(has_text="amina")
        expect(row).to_contain_text("Soup <b>& bread</b>")
        expect(row).to_contain_text("2.50 HOUR")
        shot(bruno, "08-history")
        with bruno.expect_download() as download_info:
            bruno.get_by_role("link", name="Download CSV").click()
        csv_text = Path(download_info.value.path()).read_text()
        assert "amina,bruno,2.50,HOUR,Soup <b>& bread</b>" in csv_text

        # A payment request makes a link and a QR code.
        nav(bruno, "Request").click()
        bruno.get_by_label("Amount (HOUR)").fill("1")
        bruno.get_by_role("button", name="Make the request").click()
        expect(bruno.get_by_role("img", name="QR code to pay bruno")).to_be_visible()
        link = bruno.get_by_label("Payment link").input_value()
        assert re.search(r"/#/pay\?to=bruno&amount=1$", link), link
        shot(bruno, "09-request")
        amina.goto(link)  # the payer's wallet opens with the request filled in
        expect(amina.get_by_label("Pay to")).to_have_value("bruno")
        expect(amina.get_by_label("Amount (HOUR)")).to_have_value("1")

        # Offers: Bruno posts one, Amina finds it by full-text search and can pay from it.
        nav(bruno, "Offers & wants").click()
        bruno.get_by_label("Title").fill("Fresh tomatoes")
        bruno.get_by_label("Description").fill("From my garden, every Friday.")
        bruno.get_by_label("Category").last.select_option("food")
        bruno.get_by_role("button", name="Post", exact=True).click()
        bruno.get_by_role("button", name="Edit Fresh tomatoes").click()
        bruno.get_by_label("Title").fill("Cherry tomatoes")
        bruno.get_by_role("button", name="Save changes").click()
        expect(bruno.get_by_role("button", name="Withdraw Cherry tomatoes")).to_be_visible()
        nav(amina, "Offers & wants").click()
        amina.get_by_label("Search", exact=True).fill("tomato")
        amina.get_by_role("button", name="Search", exact=True).click()
        expect(amina.get_by_role("heading", name="Cherry tomatoes")).to_be_visible()
        expect(amina.get_by_role("link", name="Pay bruno")).to_be_visible()
        shot(amina, "10-offers")

        # Arabic: the whole page turns right to left, labels translated, choice remembered.
        nav(amina, "Home").click()
        amina.get_by_label("Language").select_option("ar")
        expect(amina.locator("html")).to_have_attribute("dir", "rtl")
        expect(amina.locator("html")).to_have_attribute("lang", "ar")
        expect(nav(amina, "الرئيسية")).to_be_visible()
        expect(amina.get_by_role("heading", name="مرحبًا يا amina")).to_be_visible()
        shot(amina, "11-home-arabic")
        amina.reload()
        expect(amina.locator("html")).to_have_attribute("dir", "rtl")
        assert errors == []
    finally:
        amina_ctx.close()
        bruno_ctx.close()


def test_steward_runs_a_clearing_round_and_sees_it(community, browser) -> None:  # type: ignore[no-untyped-def]
    url, steward_invite = community
    expect.set_options(timeout=15_000)
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        join(page, url, "amina", steward_invite)
        expect(page.get_by_role("heading", name="Hello, amina")).to_be_visible()
        nav(page, "Clearing").click()
        expect(page.get_by_role("heading", name="Clearing between communities")).to_be_visible()
        expect(page.get_by_text("No rounds yet.")).to_be_visible()

        # The policy switch: refusing shows a warning, and it is remembered.
        policy = page.get_by_role(
            "switch", name="Sign clearing rounds proposed by other communities"
        )
        expect(policy).to_be_checked()
        policy.uncheck()
        expect(page.locator(".warning")).to_have_text(
            "This community refuses every clearing round."
        )
        page.reload()
        expect(policy).not_to_be_checked()
        policy.check()
        expect(policy).to_be_checked()

        # A round with no partner has nothing to clear; it is listed with its chart.
        page.get_by_role("button", name="Run a round now").click()
        expect(
            page.get_by_text(
                "Nothing to clear: there is no circle of debt between the communities."
            )
        ).to_be_visible()
        row = page.get_by_role("row").filter(has_text="nothing to clear")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("0.00 HOUR")
        chart = page.get_by_role("img", name=re.compile(r"^Chart: how much of each credit line"))
        expect(chart).to_be_visible()
        expect(chart).to_have_js_property("naturalWidth", 800)  # the PNG loaded (CSP img-src)
        shot(page, "12-clearing")
        assert errors == []
    finally:
        context.close()
