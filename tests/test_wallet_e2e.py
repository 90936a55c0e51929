"""The wallet end to end in a real Chromium at phone size (360×740): members join (one
waits for a steward and hears the approval live), pay and pay again from the tab bar, see
the payment's details and receipt; every check happens before the review; finding whom to
pay (recent payees first) and scanning a payment request's QR code with the camera;
stewards search and page through members, freeze and close only after confirming, and
name the unit; a clearing round. No test may leave an error in the browser's console.

One node (``run_node`` in a thread, its own ``trio.run`` on 127.0.0.1) and one browser
serve the whole module; each test uses members of its own.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from letsnode.node.facade import Node
from tests.wallet_browser import (
    Console,
    NodeThread,
    fake_camera,
    join,
    launch,
    member_page,
    qr_video,
    require_chromium,
    shot,
    tab,
)
from tests.web_helpers import make_community

sync_api = require_chromium()
expect = sync_api.expect

pytestmark = pytest.mark.browser

SCANNED = "/#/pay?to=gus&amount=1.5&memo=Bread"


class Site:
    def __init__(self, runner: NodeThread, steward_invite: str, invite: str) -> None:
        self.runner = runner
        self.url = runner.url
        self.steward_invite = steward_invite
        self.invite = invite

    @property
    def node(self) -> Node:
        assert self.runner.node is not None
        return self.runner.node

    def admit(self, *handles: str) -> None:
        for handle in handles:
            self.runner.call(self.node.admit, handle, secrets.token_bytes(32))

    def set_limits(self, handle: str, floor: int, ceiling: int | None) -> None:
        self.runner.call(self.node.set_limits, handle, floor, ceiling)

    def freeze(self, handle: str) -> None:
        self.runner.call(self.node.set_status, handle, "frozen")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = make_community(tmp_path_factory.mktemp("wallet") / "bank")
    node = Node.open(data)
    steward_invite = node.joins.create_invite(20, 2, steward=True)
    invite = node.joins.create_invite(50, 2)
    node.close()
    runner = NodeThread(data)
    runner.start()
    try:
        yield Site(runner, steward_invite, invite)
    finally:
        runner.stop()


@pytest.fixture(scope="module")
def browser(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # The phone's camera shows a payment request of this node (see test_scan_...).
    video = qr_video(site.url + SCANNED, tmp_path_factory.mktemp("camera") / "qr.y4m")
    with sync_api.sync_playwright() as pw:
        launched = launch(sync_api, pw, fake_camera(video))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def console() -> Iterator[Console]:
    expect.set_options(timeout=15_000)
    watching = Console()
    yield watching
    watching.check()


def test_members_join_pay_and_pay_again(site: Site, browser: Any, console: Console) -> None:
    amina_ctx, amina = member_page(browser, console, accept_downloads=True)
    bruno_ctx, bruno = member_page(browser, console, accept_downloads=True)
    try:
        # Amina joins with the operator's steward invite: admitted at once.
        join(amina, site.url, "amina", site.steward_invite)
        expect(amina.get_by_role("heading", name="Hello, amina")).to_be_visible()
        expect(amina.locator("#balance")).to_have_text("0 hours")
        expect(tab(amina, "Home")).to_have_attribute("aria-current", "page")

        # Bruno asks without an invite and waits: his page hears the approval live.
        join(bruno, site.url, "bruno")
        expect(bruno.get_by_role("heading", name="Waiting for approval")).to_be_visible()
        tab(amina, "More").click()
        amina.get_by_role("link", name=re.compile("^Stewards")).click()
        expect(amina.get_by_role("heading", name="Requests to join")).to_be_visible()
        amina.get_by_role("button", name="Approve bruno").click()
        expect(amina.get_by_text("bruno can now pay and be paid.")).to_be_visible()
        expect(bruno.get_by_role("heading", name="Hello, bruno")).to_be_visible()

        # Amina pays Bruno: the review says who gets what and what it leaves her.
        tab(amina, "Pay").click()
        amina.get_by_role("button", name="Pay bruno").click()
        expect(amina.get_by_label("Pay to")).to_have_value("bruno")
        amina.get_by_label("Amount (hours)").fill("2,5")
        amina.get_by_label("What is it for? (optional)").fill("Soup <b>& bread</b>")
        expect(amina.get_by_text("After this you can still spend 17.5 hours.")).to_be_visible()
        amina.get_by_role("button", name="Continue").click()
        expect(amina.get_by_role("heading", name="Check and pay")).to_be_visible()
        summary = amina.locator(".summary")
        expect(summary).to_contain_text("2.5 hours")
        expect(summary).to_contain_text("to bruno")
        expect(summary).to_contain_text("Soup <b>& bread</b>")
        expect(amina.locator("dl.figures").first).to_contain_text("-2.5 hours")
        amina.get_by_role("button", name="Pay now").click()
        expect(amina.get_by_text("Paid 2.5 hours to bruno.")).to_be_visible()
        assert re.search(r"#/payment/\d+\?done=1$", amina.url), amina.url
        expect(bruno.locator("#balance")).to_have_text("2.5 hours")  # live, no reload
        expect(bruno.get_by_text("You received 2.5 hours from amina")).to_be_visible()

        # Tapping Pay right after paying opens a new payment (issue #18's bug).
        tab(amina, "Pay").click()
        expect(amina.get_by_label("Pay to")).to_have_value("")
        amina.get_by_label("Pay to").fill("bruno")
        amina.get_by_label("Amount (hours)").fill("1")
        amina.get_by_role("button", name="Continue").click()
        amina.get_by_role("button", name="Pay now").click()
        expect(amina.get_by_text("Paid 1 hour to bruno.")).to_be_visible()
        # Back goes to the form, never to a review that would pay a second time.
        amina.go_back()
        expect(amina.get_by_role("heading", name="Pay someone")).to_be_visible()
        amina.go_forward()
        expect(amina.get_by_role("heading", name="You paid bruno")).to_be_visible()
        amina.reload()
        expect(amina.get_by_role("heading", name="You paid bruno")).to_be_visible()

        # The payment's details: the signed order for those who want it, and a receipt.
        amina.get_by_text("The signed order (for checking)").click()
        expect(amina.locator("code.hex").first).to_have_text(re.compile("^[0-9a-f]{40,}$"))
        amina.get_by_role("link", name="Receipt").click()
        expect(amina.get_by_role("heading", name=re.compile(r"^Receipt no\. \d+$"))).to_be_visible()
        expect(amina.locator(".receipt")).to_contain_text("1 hour")

        # History: each payment opens its details; the CSV has no signed amounts.
        tab(bruno, "History").click()
        row = bruno.get_by_role("row").filter(has_text="Soup <b>& bread</b>")
        expect(row).to_contain_text("2.5 hours")
        with bruno.expect_download() as download_info:
            bruno.get_by_role("link", name="Download CSV").click()
        rows = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text())))
        assert rows[0][4:6] == ["paid", "received"]
        assert [r[2:] for r in rows[1:]] == [
            ["amina", "bruno", "", "1.00", "HOUR", ""],
            ["amina", "bruno", "", "2.50", "HOUR", "Soup <b>& bread</b>"],
        ]
        row.get_by_role("link").click()
        expect(bruno.get_by_role("heading", name="amina paid you")).to_be_visible()
        expect(tab(bruno, "History")).to_have_attribute("aria-current", "page")

        # A payment request makes a link and a QR code that open the payer's form filled in.
        tab(bruno, "Request").click()
        bruno.get_by_label("Amount (hours)").fill("1,5")
        bruno.get_by_role("button", name="Make the request").click()
        expect(bruno.get_by_role("img", name="QR code to pay bruno")).to_be_visible()
        link = bruno.get_by_label("Payment link").input_value()
        assert re.search(r"/#/pay\?to=bruno&amount=1\.50$", link), link
        amina.goto(link)
        expect(amina.get_by_label("Pay to")).to_have_value("bruno")
        expect(amina.get_by_label("Amount (hours)")).to_have_value("1.50")
        expect(amina.get_by_text("✓ bruno, member of Test Time Bank")).to_be_visible()

        # Offers: Bruno posts one, Amina finds it and can pay from it.
        tab(bruno, "More").click()
        bruno.get_by_role("link", name=re.compile("^Offers & wants")).click()
        bruno.get_by_label("Title").fill("Fresh tomatoes")
        bruno.get_by_label("Category").last.select_option("food")
        bruno.get_by_role("button", name="Post", exact=True).click()
        expect(bruno.get_by_role("button", name="Withdraw Fresh tomatoes")).to_be_visible()
        amina.goto(f"{site.url}/#/offers")
        amina.get_by_label("Search", exact=True).fill("tomato")
        amina.get_by_role("button", name="Search", exact=True).click()
        amina.get_by_role("link", name="Pay bruno").click()
        expect(amina.get_by_label("What is it for? (optional)")).to_have_value("Fresh tomatoes")

        # Arabic: right to left, the tabs and the unit in Arabic, and remembered.
        amina.goto(f"{site.url}/#/home")
        amina.get_by_label("Language").select_option("ar")
        expect(amina.locator("html")).to_have_attribute("dir", "rtl")
        expect(tab(amina, "الرئيسية")).to_be_visible()
        expect(amina.get_by_role("heading", name="مرحبًا يا amina")).to_be_visible()
        expect(amina.locator("#balance")).to_contain_text("ساعة")
        amina.reload()
        expect(amina.locator("html")).to_have_attribute("dir", "rtl")
        amina.get_by_label("اللغة").select_option("en")
    finally:
        amina_ctx.close()
        bruno_ctx.close()


def field_note(page: Any, label: str) -> Any:
    field = page.get_by_label(label)
    return page.locator(f"#{field.get_attribute('id')}-note")


def test_every_check_comes_before_the_review(site: Site, browser: Any, console: Console) -> None:
    site.admit("dina", "erin")
    site.set_limits("dina", -2000, 100)  # dina can receive 1 hour at most
    site.freeze("erin")
    context, page = member_page(browser, console)
    try:
        join(page, site.url, "carla", site.invite)
        expect(page.get_by_role("heading", name="Hello, carla")).to_be_visible()
        tab(page, "Pay").click()
        to, amount = page.get_by_label("Pay to"), page.get_by_label("Amount (hours)")
        to_note, amount_note = field_note(page, "Pay to"), field_note(page, "Amount (hours)")
        review = page.get_by_role("heading", name="Check and pay")

        # Nothing typed: Continue says what is missing.
        page.get_by_role("button", name="Continue").click()
        expect(to_note).to_have_text("Say whom to pay.")
        expect(amount_note).to_have_text("Type how much to pay.")
        expect(to).to_have_attribute("aria-invalid", "true")
        expect(to).to_be_focused()

        for typed, said in [
            ("nobody", "There is no member with that name."),
            ("carla", "You cannot pay yourself."),
            ("Not Valid!", "Use 1 to 32 lowercase letters, digits or dashes."),
            ("karim@@x", "Write a member of another community as name@community"),
            ("karim@tunis", "No community with that name is known here."),
            ("erin", "One of the two accounts is frozen, so it cannot pay or be paid."),
        ]:
            to.fill(typed)
            to.blur()
            expect(to_note).to_contain_text(said)
            expect(to).to_have_attribute("aria-invalid", "true")
        to.fill("dina")
        expect(to_note).to_have_text("✓ dina, member of Test Time Bank")
        expect(to).not_to_have_attribute("aria-invalid", "true")

        for typed, said in [
            ("abc", "Type an amount such as 2 or 2.50."),
            ("1.234", "Too many decimal places: at most 2."),
            ("0", "The amount must be more than zero."),
            ("25", "That is more than you can spend now: at most 20 hours."),
            ("1.5", "The other member cannot receive this much"),
        ]:
            amount.fill(typed)
            expect(amount_note).to_contain_text(said)
            expect(amount).to_have_attribute("aria-invalid", "true")
            page.get_by_role("button", name="Continue").click()
            expect(amount).to_be_focused()
            expect(review).to_have_count(0)
        amount.fill("٠٫٥")  # an Arabic keyboard's digits
        expect(amount_note).to_have_text("After this you can still spend 19.5 hours.")
        page.get_by_role("button", name="Continue").click()
        expect(review).to_be_visible()
        expect(page.locator(".summary")).to_contain_text("0.5 hours")

        # The review has its own address: reload shows it again; Change keeps what was typed.
        page.reload()
        expect(review).to_be_visible()
        page.get_by_role("link", name="Change").click()
        expect(page.get_by_label("Pay to")).to_have_value("dina")
        expect(page.get_by_label("Amount (hours)")).to_have_value("0.50")
    finally:
        context.close()


def test_find_whom_to_pay_and_scan_a_payment_request(
    site: Site, browser: Any, console: Console
) -> None:
    site.admit("gus", "hana", "ivan")
    context, page = member_page(browser, console)
    try:
        join(page, site.url, "fay", site.invite)
        expect(page.get_by_role("heading", name="Hello, fay")).to_be_visible()
        page.goto(f"{site.url}/#/pay?to=hana&amount=1")
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Pay now").click()
        expect(page.get_by_text("Paid 1 hour to hana.")).to_be_visible()

        # The members to pay: recent payees first, then by name; typing narrows them.
        tab(page, "Pay").click()
        picks = page.locator(".picker .pick")
        expect(picks.first).to_have_accessible_name("Pay hana recent")
        expect(page.get_by_role("button", name="Pay gus")).to_be_visible()
        page.get_by_label("Pay to").fill("iv")
        expect(picks).to_have_count(1)
        expect(picks.first).to_have_accessible_name("Pay ivan")
        expect(field_note(page, "Pay to")).to_have_text("")  # still typing: no error yet
        page.get_by_role("button", name="Pay ivan").click()
        expect(page.get_by_label("Pay to")).to_have_value("ivan")
        expect(page.get_by_label("Amount (hours)")).to_be_focused()

        # Scanning: the (fake) camera shows gus's payment request; the form opens filled.
        page.get_by_role("link", name="Scan a payment request").click()
        expect(page.get_by_role("heading", name="Scan a payment request")).to_be_visible()
        expect(page.get_by_label("Pay to")).to_have_value("gus", timeout=30_000)
        assert page.url.endswith(SCANNED), page.url
        expect(page.get_by_label("Amount (hours)")).to_have_value("1.5")
        expect(page.get_by_label("What is it for? (optional)")).to_have_value("Bread")
    finally:
        context.close()


def test_stewards_find_members_and_confirm_freezing_and_closing(
    site: Site, browser: Any, console: Console
) -> None:
    site.admit(*[f"m{i:02d}" for i in range(25)])
    steward_ctx, page = member_page(browser, console)
    kim_ctx, kim = member_page(browser, console)
    try:
        join(page, site.url, "jo", site.steward_invite)
        expect(page.get_by_role("heading", name="Hello, jo")).to_be_visible()
        join(kim, site.url, "kim")
        expect(kim.get_by_role("heading", name="Waiting for approval")).to_be_visible()

        # The join queue comes first; then the members, searched and a page at a time.
        page.goto(f"{site.url}/#/admin")
        first_card = page.locator("main .card").first
        expect(first_card.get_by_role("heading", name="Requests to join")).to_be_visible()
        expect(first_card).to_contain_text("kim")
        page.get_by_label("Find a member").fill("m1")
        page.get_by_role("button", name="Find", exact=True).click()
        expect(page.get_by_text("Page 1 of 1 (10 members)")).to_be_visible()
        assert page.url.endswith("#/admin?q=m1"), page.url
        page.goto(f"{site.url}/#/admin")
        expect(page.get_by_text(re.compile(r"^Page 1 of 2 \(\d+ members\)$"))).to_be_visible()
        page.get_by_role("link", name="Next").click()
        expect(page.get_by_text(re.compile(r"^Page 2 of 2"))).to_be_visible()
        page.reload()
        expect(page.get_by_text(re.compile(r"^Page 2 of 2"))).to_be_visible()

        # Freezing asks first: Cancel changes nothing, Freeze freezes.
        page.goto(f"{site.url}/#/admin/member/m03")
        expect(page.get_by_role("heading", name="m03", exact=True)).to_be_visible()
        page.get_by_role("button", name="Freeze").click()
        dialog = page.get_by_role("dialog", name="Freeze m03?")
        expect(dialog).to_contain_text("m03 will not be able to pay or be paid")
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_have_count(0)
        expect(page.locator("dl.figures").first).to_contain_text("active")
        assert site.runner.call(lambda: site.node.account("m03").status) == "active"
        page.get_by_role("button", name="Freeze").click()
        page.get_by_role("dialog").get_by_role("button", name="Freeze").click()
        expect(page.get_by_text("m03 is frozen.")).to_be_visible()
        expect(page.locator("dl.figures").first).to_contain_text("frozen")
        page.get_by_role("button", name="Unfreeze").click()
        page.get_by_role("dialog").get_by_role("button", name="Unfreeze").click()
        expect(page.get_by_text("m03 can pay and be paid again.")).to_be_visible()

        # Closing is for good: the steward types the member's name to confirm.
        page.goto(f"{site.url}/#/admin/member/m04")
        page.get_by_role("button", name="Close the account").click()
        dialog = page.get_by_role("dialog", name="Close the account of m04?")
        confirm = dialog.get_by_role("button", name="Close the account")
        expect(confirm).to_be_disabled()
        dialog.get_by_label("Type m04 to confirm").fill("m04")
        confirm.click()
        expect(page.get_by_text("This account is closed for good.")).to_be_visible()
        assert site.runner.call(lambda: site.node.account("m04").status) == "closed"

        # Rejecting a request asks too; the waiting page hears it.
        page.goto(f"{site.url}/#/admin")
        page.get_by_role("button", name="Reject kim").click()
        page.get_by_role("dialog", name="Reject kim?").get_by_role("button", name="Reject").click()
        expect(page.get_by_text("No requests waiting.")).to_be_visible()
        expect(kim.get_by_role("heading", name="Request not accepted")).to_be_visible()

        # The unit's name, per language, with a preview of what members will read.
        page.goto(f"{site.url}/#/admin/units")
        expect(page.get_by_role("heading", name="What the unit is called")).to_be_visible()
        page.get_by_label("Language", exact=True).last.select_option("es")
        expect(page.get_by_label("For one")).to_have_attribute("lang", "es")
        page.get_by_label("For one").fill("hora de ayuda")
        page.get_by_label("For others").fill("horas de ayuda")
        expect(page.locator(".preview")).to_contain_text("1 hora de ayuda · 2 horas de ayuda")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Set by the community.")).to_be_visible()
        page.locator("#language").select_option("es")
        page.goto(f"{site.url}/#/home")
        expect(page.locator("#balance")).to_have_text("0 horas de ayuda")
        page.goto(f"{site.url}/#/admin/units?lang=es")
        page.get_by_role("button", name="Usar el nombre por defecto").click()
        expect(page.get_by_text("El nombre por defecto de esta unidad.")).to_be_visible()
        page.locator("#language").select_option("en")
    finally:
        steward_ctx.close()
        kim_ctx.close()


def test_steward_runs_a_clearing_round_and_sees_it(
    site: Site, browser: Any, console: Console
) -> None:
    context, page = member_page(browser, console)
    try:
        join(page, site.url, "lena", site.steward_invite)
        expect(page.get_by_role("heading", name="Hello, lena")).to_be_visible()
        tab(page, "More").click()
        page.get_by_role("link", name=re.compile("^Clearing")).click()
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
        expect(row).to_contain_text("0 hours")
        chart = page.get_by_role("img", name=re.compile(r"^Chart: how much of each credit line"))
        expect(chart).to_be_visible()
        expect(chart).to_have_js_property("naturalWidth", 800)  # the PNG loaded (CSP img-src)
        shot(page, "clearing")
    finally:
        context.close()


def test_history_days_are_written_the_members_way(
    site: Site, browser: Any, console: Console
) -> None:
    site.admit("pia")
    context, page = member_page(browser, console)
    try:
        join(page, site.url, "olga", site.invite)
        expect(page.get_by_role("heading", name="Hello, olga")).to_be_visible()
        page.goto(f"{site.url}/#/pay?to=pia&amount=0.25&memo=Bus")
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Pay now").click()
        expect(page.get_by_text("Paid 0.25 hours to pia.")).to_be_visible()
        page.locator("#language").select_option("es")
        tab(page, "Historial").click()
        page.get_by_label("Cuándo").select_option("days")
        expect(page.get_by_text("Por ejemplo 31/12/2026").first).to_be_visible()
        page.get_by_label("Desde", exact=True).fill("31/02/2026")
        page.get_by_role("button", name="Mostrar").click()
        expect(page.get_by_role("alert")).to_have_text("Escribe un día como 31/12/2026.")
        page.get_by_label("Desde", exact=True).fill("01/01/2000")
        page.get_by_label("Hasta", exact=True).fill("31/12/2999")
        page.get_by_role("button", name="Mostrar").click()
        expect(page.get_by_role("row").filter(has_text="Bus")).to_contain_text("0,25 horas")
        assert page.url.endswith("period=days&from=2000-01-01&to=2999-12-31"), page.url
        page.reload()  # the filter is in the address
        expect(page.get_by_label("Hasta", exact=True)).to_have_value("31/12/2999")
        page.get_by_label("Desde", exact=True).fill("01/01/2999")
        page.get_by_role("button", name="Mostrar").click()
        expect(page.get_by_text("Ningún pago coincide.")).to_be_visible()
        page.locator("#language").select_option("en")
    finally:
        context.close()
