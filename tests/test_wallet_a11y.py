"""Accessibility of every screen of the wallet, in English (left to right) and Arabic
(right to left): axe-core (tests/js, installed by scripts/test with npm ci) finds no
serious or critical violation, contrast included; every control is reached with the Tab
key. The same walk takes the screenshots of each screen: into test-output/screenshots
always, and into docs/screenshots (the README's, kept small) with
LETSNODE_SCREENSHOTS=docs.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from letsnode.node.facade import Node
from tests.wallet_browser import (
    ROOT,
    SHOTS,
    Console,
    NodeThread,
    join,
    launch,
    member_page,
    require_chromium,
    shot,
    tab,
)
from tests.web_helpers import make_community

sync_api = require_chromium()
expect = sync_api.expect

pytestmark = pytest.mark.browser

AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
DOCS = ROOT / "docs" / "screenshots"
BAD = ("serious", "critical")
LANGUAGES = ("en", "ar")

if not AXE.exists():
    if os.environ.get("CI"):
        raise RuntimeError("axe-core is missing: scripts/test installs it (npm ci in tests/js)")
    pytest.skip("no axe-core (npm ci --prefix tests/js)", allow_module_level=True)


class World:
    def __init__(self, runner: NodeThread, steward_invite: str, invite: str) -> None:
        self.runner = runner
        self.url = runner.url
        self.steward_invite = steward_invite
        self.invite = invite

    @property
    def node(self) -> Node:
        assert self.runner.node is not None
        return self.runner.node


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = make_community(tmp_path_factory.mktemp("a11y") / "bank")
    node = Node.open(data)
    steward_invite = node.joins.create_invite(5, 2, steward=True)
    invite = node.joins.create_invite(20, 2)
    node.close()
    runner = NodeThread(data)
    runner.start()
    try:
        world = World(runner, steward_invite, invite)
        for handle in ("bruno", "carla", "dimitra", "elif"):
            runner.call(world.node.admit, handle, secrets.token_bytes(32))
        yield world
    finally:
        runner.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        # A fake camera with nothing to read: the scanner screen shows its viewfinder.
        fake = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
        launched = launch(sync_api, pw, fake)
        try:
            yield launched
        finally:
            launched.close()


def audit(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {
                    type: "tag",
                    values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
                },
                resultTypes: ["violations"],
            });
            return r.violations.map((v) => ({
                id: v.id, impact: v.impact,
                nodes: v.nodes.map((n) => n.target.join(" ") + ": " + n.failureSummary).slice(0, 3),
            }));
        }"""
    )
    return [f"{v['id']} ({v['impact']}): {v['nodes']}" for v in results if v["impact"] in BAD]


def keep(page: Any, name: str) -> None:
    """A screenshot of the screen: for the tests' output, and for the README when asked."""
    path = shot(page, name, SHOTS)
    if os.environ.get("LETSNODE_SCREENSHOTS") == "docs":
        from PIL import Image

        DOCS.mkdir(parents=True, exist_ok=True)
        with Image.open(path) as image:
            small = image.convert("RGB").quantize(colors=64, dither=Image.Dither.NONE)
            small.save(DOCS / f"{name}.png", optimize=True)


def screen(page: Any, found: dict[str, list[str]], lang: str, name: str) -> None:
    page.locator("main h1").first.wait_for()
    page.wait_for_load_state("networkidle")
    problems = audit(page)
    if problems:
        found[f"{lang}/{name}"] = problems
    keep(page, f"{lang}-{name}")


def visit(page: Any, url: str, hash_: str, heading: Any) -> None:
    page.goto(f"{url}/{hash_}")
    expect(heading).to_be_visible()


def test_every_screen_passes_axe_in_english_and_arabic(world: World, browser: Any) -> None:
    expect.set_options(timeout=15_000)
    console = Console()
    found: dict[str, list[str]] = {}
    url = world.url
    anon_ctx, anon = member_page(browser, console, bypass_csp=True)
    wait_ctx, waiting = member_page(browser, console, bypass_csp=True)
    ctx, page = member_page(browser, console, bypass_csp=True)
    try:
        join(page, url, "amina", world.steward_invite)
        expect(page.get_by_role("heading", name="Hello, amina")).to_be_visible()
        join(waiting, url, "farid")
        expect(waiting.get_by_role("heading", name="Waiting for approval")).to_be_visible()
        # Some history: a payment each way, and an offer.
        page.goto(f"{url}/#/pay?to=bruno&amount=2.5&memo=Soup%20and%20bread")
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Pay now").click()
        expect(page.get_by_text("Paid 2.5 hours to bruno.")).to_be_visible()
        seq = re.search(r"#/payment/(\d+)", page.url)
        assert seq is not None
        page.goto(f"{url}/#/offers")
        page.get_by_label("Title").fill("Arabic lessons")
        page.get_by_role("button", name="Post", exact=True).click()
        expect(page.get_by_role("button", name="Withdraw Arabic lessons")).to_be_visible()

        for lang in LANGUAGES:
            for p in (anon, waiting, page):
                p.goto(f"{url}/#/home")
                p.locator("#language").select_option(lang)
                expect(p.locator("html")).to_have_attribute("lang", lang)
            anon.goto(f"{url}/#/join")
            screen(anon, found, lang, "join")
            screen(waiting, found, lang, "waiting")
            h1 = page.locator("main h1").first

            visit(page, url, "#/home", h1)
            screen(page, found, lang, "home")
            visit(page, url, "#/pay", h1)
            page.locator("#tabs").wait_for()
            page.locator(".picker .pick").first.wait_for()
            screen(page, found, lang, "pay")
            page.get_by_role("textbox").first.fill("carla")
            page.locator("input[name=amount]").fill("100")
            page.locator("input[name=amount][aria-invalid=true]").wait_for()
            screen(page, found, lang, "pay-checks")
            visit(page, url, "#/pay/review?to=carla&amount=1.5&memo=Bread", h1)
            page.locator(".summary").wait_for()
            screen(page, found, lang, "pay-review")
            visit(page, url, f"#/payment/{seq.group(1)}?done=1", h1)
            page.locator(".done").wait_for()
            screen(page, found, lang, "payment")
            visit(page, url, f"#/receipt/{seq.group(1)}", h1)
            screen(page, found, lang, "receipt")
            visit(page, url, "#/request", h1)
            page.locator("input[name=amount]").fill("3")
            page.locator("form button[type=submit]").click()
            page.locator("img.qr").wait_for()
            screen(page, found, lang, "request")
            visit(page, url, "#/history", h1)
            page.locator("table").first.wait_for()
            screen(page, found, lang, "history")
            visit(page, url, "#/scan", h1)
            screen(page, found, lang, "scan")
            visit(page, url, "#/more", h1)
            screen(page, found, lang, "more")
            visit(page, url, "#/security", h1)
            screen(page, found, lang, "security")
            visit(page, url, "#/offers", h1)
            page.locator(".listing").first.wait_for()
            screen(page, found, lang, "offers")
            visit(page, url, "#/admin", h1)
            page.locator("table.members").wait_for()
            screen(page, found, lang, "stewards")
            visit(page, url, "#/admin/member/bruno", h1)
            page.locator("form.inline").wait_for()
            screen(page, found, lang, "member")
            page.locator(".danger-outline").first.click()
            page.get_by_role("dialog").wait_for()
            screen(page, found, lang, "confirm-freeze")
            page.keyboard.press("Escape")
            visit(page, url, "#/admin/units", h1)
            page.locator(".preview").wait_for()
            screen(page, found, lang, "units")
            visit(page, url, "#/clearing", h1)
            page.locator("table.rounds, .card p.muted").first.wait_for()
            screen(page, found, lang, "clearing")
        ctx.set_offline(True)
        page.reload()
        expect(page.locator("#offline")).to_be_visible()
        screen(page, found, "ar", "offline")
        ctx.set_offline(False)
    finally:
        anon_ctx.close()
        wait_ctx.close()
        ctx.close()
    assert found == {}, found
    console.check()


def tab_through(page: Any, presses: int) -> set[str]:
    reached: set[str] = set()
    for _ in range(presses):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.dataset.k || ''"))
    return reached


def test_every_control_is_reached_by_keyboard(world: World, browser: Any) -> None:
    expect.set_options(timeout=15_000)
    console = Console()
    ctx, page = member_page(browser, console)
    try:
        join(page, world.url, "gaia", world.invite)
        expect(page.get_by_role("heading", name="Hello, gaia")).to_be_visible()
        for hash_ in ("#/home", "#/pay", "#/history", "#/more"):
            page.goto(f"{world.url}/{hash_}")
            page.locator("main h1").first.wait_for()
            if hash_ == "#/pay":  # the members to pay come a moment later
                page.locator(".picker .pick").first.wait_for()
            page.wait_for_load_state("networkidle")
            count = page.evaluate(
                """() => {
                    const all = [...document.querySelectorAll(
                        "a[href], button, input, select, textarea, summary")]
                        .filter((el) => el.offsetParent !== null && !el.disabled);
                    all.forEach((el, i) => { el.dataset.k = String(i + 1); });
                    return all.length;
                }"""
            )
            # From the heading to the end, round through the browser, and on to it again.
            reached = tab_through(page, 2 * count + 5)
            missing = {str(i) for i in range(1, count + 1)} - reached
            assert missing == set(), (hash_, missing)
        expect(tab(page, "Home")).to_have_accessible_name("Home")
    finally:
        ctx.close()
    console.check()
