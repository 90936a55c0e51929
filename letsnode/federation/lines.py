"""Credit line agreements with partner communities: propose, accept, lower.

A line is agreed in two steps so that each community's operator consents: A proposes terms
it has signed; B's operator sees the proposal (``line list``) and accepts it, which logs
the agreement in B's ledger and sends B's signature back; A then logs the same agreement.
Changing a line is a new version agreed the same way; lowering the credit one side extends
needs only that side's signature.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

from letsnode.core.errors import InvalidInput, LedgerRefusal, LetsError
from letsnode.core.wire.bodies import LineAgreement
from letsnode.core.wire.lines import LINE_ID_BYTES, LineTerms, SignedLine, convert
from letsnode.federation import wire
from letsnode.federation.port import LedgerPort, LineRecords
from letsnode.net.transport import PeerTransport
from letsnode.store.federation_store import Proposal, proposal_id

SHAPES = {"hello": 0, "propose": 2, "accept": 2, "lower": 2}


@dataclass(frozen=True, slots=True)
class PeerIdentity:
    community_id: bytes
    short: str
    name: str
    unit: str
    scale: int


class LineDesk:
    """Everything about lines: the operator's commands and the partner's requests."""

    def __init__(
        self,
        port: LedgerPort,
        transport: PeerTransport,
        store: LineRecords,
        timeout: float = 10.0,
    ) -> None:
        self.port = port
        self.transport = transport
        self.store = store
        self.timeout = timeout
        # Set by the clearing desk: line accounts held still for a clearing round.
        self.reserved: Callable[[str], bool] = lambda handle: False
        # Where line ids come from (the service may give a seeded source: simulations).
        self.token: Callable[[int], bytes] = secrets.token_bytes

    @property
    def me(self) -> bytes:
        return self.port.key.public

    # -- operator commands -----------------------------------------------------------

    async def hello(self, peer: bytes) -> PeerIdentity:
        raw = await self.transport.request(
            peer, wire.LINE_PROTOCOL, wire.encode("hello"), self.timeout
        )
        _, f = wire.decode(raw, {"hello": 4})
        short, name, unit, scale = f
        if not (
            isinstance(short, str)
            and isinstance(name, str)
            and isinstance(unit, str)
            and isinstance(scale, int)
        ):
            raise InvalidInput("the partner answered hello with malformed fields")
        return PeerIdentity(peer, short, name, unit, scale)

    async def propose(
        self, peer: bytes, limit_out: int, limit_in: int, rate_num: int = 1, rate_den: int = 1
    ) -> Proposal:
        """Sign terms for a new line (or a new version of the line with ``peer``) and send
        them; the partner's operator must accept. Limits are in this community's units."""
        if limit_out < 0 or limit_in < 0:
            raise InvalidInput("line limits are zero or positive")
        ledger = self.port.ledger
        existing = next((x for x in ledger.lines.values() if x.partner == peer), None)
        partner = await self.hello(peer)
        me = ledger.community
        if existing is None:
            line_id, version, a_is_me = self.token(LINE_ID_BYTES), 1, True
        else:
            t = existing.terms
            line_id, version, a_is_me = t.line_id, t.version + 1, t.a_id == self.me
        # In my units: my mirror of the partner may go up to limit_out (I owe) and down to
        # -limit_in (they owe); the partner's mirror of me is the same seen from there.
        mine = (-limit_in, limit_out)
        theirs = (-convert(limit_out, rate_num, rate_den), convert(limit_in, rate_num, rate_den))
        if a_is_me:
            terms = LineTerms(
                line_id,
                version,
                self.me,
                me.short,
                peer,
                partner.short,
                rate_num,
                rate_den,
                *mine,
                *theirs,
            )
        else:
            terms = LineTerms(
                line_id,
                version,
                peer,
                partner.short,
                self.me,
                me.short,
                rate_den,
                rate_num,
                *theirs,
                *mine,
            )
        data, sig = terms.encode(), terms.sign(self.port.key)
        proposal = Proposal(
            proposal_id(line_id, version),
            line_id,
            version,
            peer,
            "out",
            data,
            sig,
            None,
            "pending",
            self.port.clock(),
        )
        self.store.save_proposal(proposal)
        await self.transport.request(
            peer, wire.LINE_PROTOCOL, wire.encode("propose", data, sig), self.timeout
        )
        return proposal

    async def accept(self, pid: str) -> Proposal:
        """Accept a partner's proposal: log the agreement here, then send our signature."""
        proposal = self.store.proposal(pid)
        if proposal is None or proposal.direction != "in":
            raise InvalidInput(f"there is no incoming line proposal {pid!r}")
        if proposal.state != "pending":
            raise InvalidInput(f"line proposal {pid} is already {proposal.state}")
        terms = LineTerms.decode(proposal.terms)
        self._not_in_round(terms.line_id)
        sig = terms.sign(self.port.key)
        await self.port.submit(LineAgreement(self._signed(terms, sig, proposal.sig_theirs)))
        done = replace(proposal, sig_mine=sig, state="unsent")
        self.store.save_proposal(done)
        return await self._send_acceptance(done)

    async def _send_acceptance(self, proposal: Proposal) -> Proposal:
        assert proposal.sig_mine is not None
        try:
            await self.transport.request(
                proposal.partner,
                wire.LINE_PROTOCOL,
                wire.encode("accept", proposal.terms, proposal.sig_mine),
                self.timeout,
            )
        except LetsError:
            return proposal  # logged here; resend_unsent tells the partner later
        sent = replace(proposal, state="accepted")
        self.store.save_proposal(sent)
        return sent

    def has_unsent(self) -> bool:
        """True while an agreement we logged has not reached the partner yet."""
        return any(proposal.state == "unsent" for proposal in self.store.proposals())

    async def resend_unsent(self) -> None:
        """Tell partners about agreements we logged while they were unreachable."""
        for proposal in self.store.proposals():
            if proposal.state == "unsent":
                await self._send_acceptance(proposal)

    async def lower(self, peer: bytes, limit_in: int) -> LineTerms:
        """Lower, alone, the credit this community extends to ``peer`` (how much the partner
        may owe us, in our units); the partner is told and logs it too."""
        line = next((x for x in self.port.ledger.lines.values() if x.partner == peer), None)
        if line is None:
            raise InvalidInput("there is no line with that community")
        self._not_in_round(line.terms.line_id)
        t = line.terms
        if t.a_id == self.me:
            new = LineTerms(
                t.line_id,
                t.version + 1,
                t.a_id,
                t.a_short,
                t.b_id,
                t.b_short,
                t.rate_num,
                t.rate_den,
                max(t.a_floor, -limit_in),
                t.a_ceiling,
                t.b_floor,
                min(t.b_ceiling or 0, t.to_partner(self.me, limit_in)),
            )
        else:
            new = LineTerms(
                t.line_id,
                t.version + 1,
                t.a_id,
                t.a_short,
                t.b_id,
                t.b_short,
                t.rate_num,
                t.rate_den,
                t.a_floor,
                min(t.a_ceiling or 0, t.to_partner(self.me, limit_in)),
                max(t.b_floor, -limit_in),
                t.b_ceiling,
            )
        if not new.lowered_only_by(self.me, t):
            raise InvalidInput("that would not lower the credit this community extends")
        sig = new.sign(self.port.key)
        await self.port.submit(LineAgreement(self._signed(new, sig, None)))
        with contextlib.suppress(LetsError):  # lowered here regardless: that is the point
            await self.transport.request(
                peer, wire.LINE_PROTOCOL, wire.encode("lower", new.encode(), sig), self.timeout
            )
        return new

    def _not_in_round(self, line_id: bytes) -> None:
        line = self.port.ledger.lines.get(line_id)
        if line is not None and self.reserved(line.handle):
            raise LedgerRefusal(
                f"{line.handle} is in a clearing round; try again in a moment",
                code="clearing_in_progress",
            )

    def _signed(self, terms: LineTerms, mine: bytes | None, theirs: bytes | None) -> SignedLine:
        data = terms.encode()
        if terms.a_id == self.me:
            return SignedLine(data, mine, theirs, terms)
        return SignedLine(data, theirs, mine, terms)

    # -- the partner's requests ---------------------------------------------------------

    async def handle(self, peer: bytes, data: bytes) -> bytes:
        kind, f = wire.decode(data, SHAPES)
        if kind == "hello":
            g = self.port.ledger.community
            return wire.encode("hello", g.short, g.name, g.unit, g.scale)
        terms_data, sig = f
        if not isinstance(terms_data, bytes) or not isinstance(sig, bytes):
            raise InvalidInput("line terms and signature are byte strings")
        terms = LineTerms.decode(terms_data)
        if terms.side(self.me) and terms.partner(self.me)[0] != peer:
            raise LedgerRefusal(
                "only the partner of a line may send messages about it", code="not_partner"
            )
        signed = self._signed(terms, None, sig)
        signed.signers()  # verifies the partner's signature
        if kind == "propose":
            return self._incoming_proposal(peer, terms, terms_data, sig)
        if kind == "accept":
            return await self._accepted(peer, terms, sig)
        await self.port.submit(LineAgreement(signed))  # "lower": the ledger checks the rule
        return wire.encode("ok")

    def _incoming_proposal(self, peer: bytes, terms: LineTerms, data: bytes, sig: bytes) -> bytes:
        current = self.port.ledger.lines.get(terms.line_id)
        expected = 1 if current is None else current.terms.version + 1
        if terms.version != expected:
            raise LedgerRefusal(
                f"line version {terms.version} does not follow ours", code="line_version"
            )
        pid = proposal_id(terms.line_id, terms.version)
        if self.store.proposal(pid) is None:
            self.store.save_proposal(
                Proposal(
                    pid,
                    terms.line_id,
                    terms.version,
                    peer,
                    "in",
                    data,
                    None,
                    sig,
                    "pending",
                    self.port.clock(),
                )
            )
        return wire.encode("ok")

    async def _accepted(self, peer: bytes, terms: LineTerms, sig: bytes) -> bytes:
        pid = proposal_id(terms.line_id, terms.version)
        proposal = self.store.proposal(pid)
        if proposal is None or proposal.direction != "out" or proposal.terms != terms.encode():
            raise LedgerRefusal("no matching proposal of ours", code="unknown_proposal")
        if proposal.state == "pending":
            await self.port.submit(LineAgreement(self._signed(terms, proposal.sig_mine, sig)))
            self.store.save_proposal(replace(proposal, sig_theirs=sig, state="accepted"))
        return wire.encode("ok")
