"""The federation part of ``./scripts/run``: three communities as three real node processes.

Valencia's time bank (hours), Thessaloniki's LETS (talanta) and Tunis's municipal social
currency (dinars) each run ``letsnode run`` on loopback; lines Valencia–Thessaloniki and
Thessaloniki–Tunis are agreed through the nodes, a first payment crosses both lines, and
each wallet's URL is printed with invite links. Ctrl-C (or ``--seconds``) stops all three.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import click

from letsnode.community.folder import Community
from letsnode.core.amounts import parse_amount, parse_decimal
from letsnode.core.errors import LetsError
from letsnode.core.wire.entries import AccountKind
from letsnode.core.wire.transfers import RemoteOrder
from letsnode.demo.seed import invites
from letsnode.demo.seed import seed as seed_valencia
from letsnode.node.control import ControlClient
from letsnode.node.facade import Node


@dataclass
class Member:
    handle: str
    floor: str | None = None


@dataclass
class Town:
    short: str
    name: str
    unit: str
    floor: str
    ceiling: str
    members: list[Member]
    listings: list[tuple[str, str, str, str, str]]


TOWNS = [
    Town(
        "thessaloniki",
        "Thessaloniki LETS",
        "TAL",
        "-200",
        "400",
        [Member("eleni"), Member("nikos"), Member("sofia")],
        [("nikos", "offer", "home", "Plumbing", "Leaks and taps, weekdays.")],
    ),
    Town(
        "tunis",
        "Tunis Social Dinar",
        "SDN",
        "-50",
        "500",
        [Member("karim"), Member("amira"), Member("municipality", "-100000")],
        [("amira", "offer", "food", "Couscous for events", "Up to 30 people.")],
    ),
]
# One hour of the time bank is worth 10 talanta; one talanto is worth half a dinar.
LINES = [
    ("valencia", "thessaloniki", "200", "200", "10/1"),
    ("thessaloniki", "tunis", "2000", "2000", "1/2"),
]


def seed_town(folder: Path, town: Town) -> None:
    c = Community.create(
        folder,
        name=town.name,
        short=town.short,
        unit=town.unit,
        scale=2,
        floor=parse_decimal(town.floor, 2),
        ceiling=parse_decimal(town.ceiling, 2),
    )
    try:
        for m in town.members:
            kind: AccountKind = "issuer" if m.handle == "municipality" else "member"
            floor = None if m.floor is None else parse_decimal(m.floor, 2)
            c.admit(m.handle, kind=kind, floor=floor, default_ceiling=kind == "member")
    finally:
        c.close()
    node = Node.open(folder)
    try:
        for handle, listing_kind, category, title, text in town.listings:
            node.web.add_listing(handle, listing_kind, category, title, text, "", node.clock())
    finally:
        node.close()


class Running:
    """One ``letsnode run`` child process."""

    def __init__(self, folder: Path, http: str, peers: list[str]) -> None:
        args = [sys.executable, "-m", "letsnode", "--data", str(folder), "run", "--http", http]
        for peer in peers:
            args += ["--peer", peer]
        self.folder = folder
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        self.url = ""
        self.addr = ""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 90
        while not self.url:
            line = self.proc.stdout.readline()
            if not line or time.monotonic() > deadline:
                raise click.ClickException(f"the node in {folder} did not start")
            if line.startswith("address") and not self.addr:
                self.addr = line.split()[1]
            if line.startswith("wallet"):
                self.url = line.split()[1].rstrip("/")
        self.control = ControlClient(folder)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def agree_lines(nodes: dict[str, Running]) -> None:
    for left, right, out, in_, rate in LINES:
        num, den = rate.split("/")
        peer = nodes[right].addr.rsplit("/", 1)[1]
        proposal = nodes[left].control.call(
            "line_propose",
            peer=peer,
            limit_out=parse_decimal(out, 2),
            limit_in=parse_decimal(in_, 2),
            rate_num=int(num),
            rate_den=int(den),
        )
        nodes[right].control.call("line_accept", id=proposal["id"])
        click.echo(f"line {left} – {right}: {out} out, {in_} in, rate {rate} (agreed by both)")


def first_payment(nodes: dict[str, Running], folder: Path) -> str:
    """maria@valencia pays karim@tunis 1.00 HOUR through Thessaloniki, once routes exist."""
    valencia = nodes["valencia"]
    with Community.opened(folder / "valencia") as c, Community.opened(folder / "tunis") as t:
        key, cid, tunis = c.member_key("maria"), c.genesis.community_id, t.genesis.community_id
    deadline = time.monotonic() + 30
    while True:
        nonce = valencia.control.call("next_nonce", handle="maria")
        data, sig = RemoteOrder(
            cid,
            "maria",
            tunis,
            "karim",
            parse_amount("1.00", 2),
            nonce,
            "first cross-community payment",
        ).sign(key)
        try:
            outcome = valencia.control.call("pay_remote", order=data.hex(), signature=sig.hex())
            return f"{outcome['state']} ({len(outcome['route'])} lines)"
        except LetsError as err:
            if err.code != "no_route" or time.monotonic() > deadline:
                return f"not done: {err}"
            time.sleep(0.5)  # the line adverts are still spreading


@click.command()
@click.option(
    "--http-port",
    type=int,
    default=8081,
    show_default=True,
    help="Wallet of the first community; the others take the next ports (0: any).",
)
@click.option("--seconds", type=float, default=None, help="Stop after this long (default: Ctrl-C).")
def main(http_port: int, seconds: float | None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="letsnode-federation-"))
    seed_valencia(folder / "valencia")
    for town in TOWNS:
        seed_town(folder / town.short, town)
    codes = {name: invites(folder / name) for name in ["valencia", "thessaloniki", "tunis"]}
    nodes: dict[str, Running] = {}
    try:
        for i, name in enumerate(codes):
            http = f"127.0.0.1:{http_port + i if http_port else 0}"
            peers = [nodes[list(nodes)[-1]].addr] if nodes else []
            nodes[name] = Running(folder / name, http, peers)
        agree_lines(nodes)
        click.echo(f"maria@valencia pays karim@tunis 1.00 HOUR: {first_payment(nodes, folder)}")
        click.echo("")
        click.echo(f"A federation of three communities (data in {folder}):")
        for name, node in nodes.items():
            steward, member = codes[name]
            click.echo(f"  {name:<13} {node.url}/")
            click.echo(f"  {'':<13} join as a steward: {node.url}/#/join?invite={steward}")
            click.echo(f"  {'':<13} join as a member:  {node.url}/#/join?invite={member}")
        click.echo("From Valencia's wallet, pay karim@tunis: the payment crosses Thessaloniki.")
        click.echo(f"Try: .venv/bin/letsnode --data {folder / 'valencia'} line list")
        click.echo(
            "Simulate a year of 14 Mediterranean communities: .venv/bin/letsnode simulate "
            "simulations/mediterranean.toml --out out/med (then open out/med/report.html)"
        )
        click.echo("Ctrl-C stops the three nodes.")
        deadline = time.monotonic() + (seconds if seconds is not None else float("inf"))
        while time.monotonic() < deadline and all(n.proc.poll() is None for n in nodes.values()):
            time.sleep(0.2)
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        for node in reversed(nodes.values()):
            node.stop()


if __name__ == "__main__":
    main()
