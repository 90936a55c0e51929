"""The installable wallet: its manifest (named after the community, with icons), and a
service worker that keeps the shell so the wallet opens without a connection and says
that payments need one, and never keeps what the API answers."""

from __future__ import annotations

import json
import re
import struct
import time
from pathlib import Path

import pytest

from letsnode.node.facade import Node
from letsnode.web.app import STATIC, create_app
from letsnode.web.i18n import LOCALES
from tests.wallet_browser import Console, NodeThread, join, launch, member_page, tab
from tests.web_helpers import api_client, make_community

SW = STATIC / "sw.js"


def shell_list() -> list[str]:
    found = re.search(r"const SHELL = \[(.*?)\];", SW.read_text(), re.S)
    assert found, "sw.js has no SHELL list"
    return json.loads("[" + found.group(1).strip().rstrip(",") + "]")


def test_the_service_worker_keeps_every_file_of_the_shell() -> None:
    files = {
        "/" + p.relative_to(STATIC).as_posix()
        for p in STATIC.rglob("*")
        if p.is_file() and "vendor" not in p.parts and p.name not in ("index.html", "sw.js")
    }
    files |= {f"/locales/{p.name}" for p in LOCALES.glob("*.json")}
    files |= {"/", "/manifest.webmanifest"}
    assert sorted(shell_list()) == sorted(files)


def test_the_service_worker_never_keeps_api_answers() -> None:
    text = SW.read_text()
    assert 'if (url.pathname.startsWith("/api/")) return;' in text
    assert not [path for path in shell_list() if path.startswith("/api/")]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_the_manifest_names_the_community_and_its_icons_exist(tmp_path: Path) -> None:
    node = Node.open(make_community(tmp_path / "bank"))
    try:
        async with api_client(create_app(node)) as client:
            r = await client.get("/manifest.webmanifest")
            assert r.headers["content-type"].startswith("application/manifest+json")
            manifest = r.json()
            assert (manifest["name"], manifest["short_name"]) == ("Test Time Bank", "test")
            assert manifest["display"] == "standalone" and manifest["start_url"] == "/#/home"
            purposes = set()
            for icon in manifest["icons"]:
                image = await client.get(icon["src"])
                assert image.status_code == 200, icon["src"]
                width, height = png_size(image.content)
                assert f"{width}x{height}" == icon["sizes"], icon
                purposes.add(icon.get("purpose", "any"))
            assert purposes == {"any", "maskable"}
            sw = await client.get("/sw.js")
            assert sw.status_code == 200 and "javascript" in sw.headers["content-type"]
            page = await client.get("/")
            assert "camera=(self)" in page.headers["permissions-policy"]
    finally:
        node.close()


@pytest.mark.browser
def test_without_a_connection_the_shell_opens_and_says_payments_need_one(
    tmp_path: Path,
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.wallet_browser import require_chromium

    require_chromium()
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    data = make_community(tmp_path / "bank")
    node = Node.open(data)
    invite = node.joins.create_invite(1, 1)
    node.close()
    runner = NodeThread(data)
    url = runner.start()
    console = Console()
    stopped = False
    try:
        with sync_api.sync_playwright() as pw:
            browser = launch(sync_api, pw)
            try:
                context, page = member_page(browser, console)
                join(page, url, "nour", invite)
                expect(page.get_by_role("heading", name="Hello, nour")).to_be_visible()
                # Polled from here: the page's CSP (no eval) stops wait_for_function's
                # in-page predicate whenever it must poll more than once.
                deadline = time.monotonic() + 30
                while not page.evaluate("navigator.serviceWorker.controller !== null"):
                    assert time.monotonic() < deadline, "the service worker never took over"
                    page.wait_for_timeout(100)
                kept: list[str] = page.evaluate(
                    """async () => {
                        const cache = await caches.open("letsnode-shell-1");
                        return (await cache.keys()).map((r) => new URL(r.url).pathname);
                    }"""
                )
                assert "/js/main.js" in kept and "/locales/ar.json" in kept
                assert not [path for path in kept if path.startswith("/api/")], kept

                # The connection goes: the wallet says so, and Pay says it needs one.
                context.set_offline(True)
                banner = page.locator("#offline")
                expect(banner).to_have_text("Offline: payments need the connection.")
                tab(page, "Pay").click()
                expect(page.locator("main .warning")).to_have_text(
                    "Payments need the connection. Try again when you are back online."
                )
                expect(page.get_by_label("Pay to")).to_have_count(0)

                # Even with the node gone, the wallet opens from the kept shell.
                runner.stop()
                stopped = True
                page.reload()
                expect(page.get_by_role("heading", name="You are offline")).to_be_visible()
                expect(
                    page.get_by_text("it needs the connection to show your balance")
                ).to_be_visible()
                kept_after = page.evaluate(
                    """async () => (await (await caches.open("letsnode-shell-1")).keys())
                        .map((r) => new URL(r.url).pathname)"""
                )
                assert not [path for path in kept_after if path.startswith("/api/")]
                context.close()
            finally:
                browser.close()
    finally:
        if not stopped:
            runner.stop()
    console.check()


def test_the_readme_shows_every_screen_in_english_and_arabic() -> None:
    """The README's screens are the PNGs the accessibility walk takes
    (``LETSNODE_SCREENSHOTS=docs``), kept small, and there are no others."""
    root = Path(__file__).resolve().parent.parent
    shown = set(
        re.findall(r'src="docs/screenshots/([a-z-]+\.png)"', (root / "README.md").read_text())
    )
    folder = root / "docs" / "screenshots"
    kept = {p.name for p in folder.glob("*.png")}
    assert shown == kept
    assert {name.split("-", 1)[0] for name in kept} == {"en", "ar"}
    for name in kept:
        data = (folder / name).read_bytes()
        assert png_size(data) == (360, 740), name
        assert len(data) < 60_000, (name, len(data))
