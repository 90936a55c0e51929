"""Deciding a clearing round (SPEC §8.8, two-phase commit), as pure functions of facts.

The federation's ``ClearingDesk`` does the I/O (asks for statements and votes, tells the
decision, logs the clear entry, keeps the records); every decision it takes is here:
whom to ask, whether the votes carry the round, whether to vote, what a commit must
carry, how to answer a participant in doubt, and what recovery finishes after a restart.

A round's record (kept by the coordinator and by each participant) moves only along
``RECORD_TABLE``. The coordinator's decision is durable (``committed`` or ``aborted``)
before anyone hears of it; a participant's vote is durable (``voted``) before it is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from letsnode.core.clearing.rounds import check_snapshot, propose
from letsnode.core.errors import BadSignature, InvalidInput, LedgerRefusal, LocalProtocolError
from letsnode.core.rules.state import LineState
from letsnode.core.wire import codec
from letsnode.core.wire.clearing import (
    MAX_ROUND_COMMUNITIES,
    Proposal,
    SignedStatement,
    vote_is_valid,
    votes_from_wire,
)
from letsnode.core.wire.codec import Wire

RoundRole = Literal["coordinator", "participant"]
RoundState = Literal["empty", "proposing", "voted", "refused", "committed", "aborted"]

# fmt: off
RECORD_TABLE: Final[Mapping[tuple[RoundRole, RoundState | None], tuple[RoundState, ...]]] = {
    # role           from           may become
    ("coordinator",  None):         ("empty", "proposing"),
    ("coordinator",  "proposing"):  ("committed", "aborted"),
    ("participant",  None):         ("voted", "refused"),
    ("participant",  "voted"):      ("committed", "aborted"),
    # A commit carries every participant's vote, so it decides the round wherever it
    # lands, even where the round was recorded as over.
    ("participant",  "aborted"):    ("committed",),
    ("participant",  "refused"):    ("committed",),
    ("participant",  "committed"):  (),
    ("coordinator",  "empty"):      (),
    ("coordinator",  "committed"):  (),
    ("coordinator",  "aborted"):    (),
}
# fmt: on

MAX_VOTES_BYTES = 64 * 1024  # what one message between nodes may carry
IN_DOUBT_AFTER_MS = 1000  # a participant asks for the outcome once the commit is this late
OVERSIZED = "the snapshot is too large for one round; clear a smaller region"
LATE = "the deadline passed before every vote arrived"
STOPPED = "the coordinator stopped before every vote arrived"
ABORTED_BY_COORDINATOR = "the coordinator aborted the round"
UNKNOWN_ROUND = "no such round was run here"


class RoundRecord(Protocol):
    """What the decisions read of a stored round (the desk's ``RoundRow``)."""

    @property
    def nonce(self) -> bytes: ...
    @property
    def round_id(self) -> bytes | None: ...
    @property
    def role(self) -> str: ...
    @property
    def coordinator(self) -> bytes: ...
    @property
    def state(self) -> str: ...
    @property
    def proposal(self) -> bytes | None: ...
    @property
    def votes(self) -> bytes | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def created_ms(self) -> int: ...


def refuse(code: str, message: str) -> LedgerRefusal:
    return LedgerRefusal(message, code=code)


def check_move(role: str, old: str | None, new: str) -> None:
    """Raise LocalProtocolError unless RECORD_TABLE lets a ``role`` record go old -> new."""
    allowed = RECORD_TABLE.get((role, old))  # type: ignore[arg-type]
    if allowed is None or new not in allowed:
        raise LocalProtocolError(f"a {role}'s round cannot go from {old} to {new}")


# -- the coordinator -------------------------------------------------------------------------


def others_to_ask(known: Iterable[bytes], me: bytes) -> list[bytes]:
    """Every other community we know, by id, as many as a round may join."""
    return sorted(set(known) - {me})[: MAX_ROUND_COMMUNITIES - 1]


def tally(
    participants: Sequence[bytes],
    votes: Mapping[bytes, bytes],
    refusals: Sequence[str],
    names: Mapping[bytes, str],
) -> str:
    """Why the votes do not carry the round (the first refusal, else who is missing), or
    "" when every participant's vote is in."""
    if refusals:
        return f"refused by {refusals[0]}"
    if len(votes) < len(participants):
        late = [names.get(p, p.hex()[:12]) for p in participants if p not in votes]
        return f"no vote in time from {', '.join(late)}"
    return ""


def refusal_note(name: str, code: str, message: str) -> str:
    return f"{name} ({code}): {message}"


@dataclass(frozen=True, slots=True)
class RoundReport:
    """What a round did, as the coordinator saw it."""

    nonce: bytes
    round_id: bytes | None
    state: str  # empty, committed or aborted
    cleared: int
    communities: int  # statements in the snapshot
    participants: tuple[bytes, ...]
    reason: str
    unreachable: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    state: Literal["committed", "aborted"]
    reason: str


def verdict(reason: str, now: int, deadline_ms: int) -> Verdict:
    """The coordinator's decision: committed only with every vote, in time."""
    if reason or now > deadline_ms:
        return Verdict("aborted", reason or LATE)
    return Verdict("committed", "")


# -- a participant -----------------------------------------------------------------------------


def admit(
    existing: RoundRecord | None, proposal: Proposal, data: bytes, asked_by: bytes, now: int
) -> bool:
    """May we consider this proposal? True when we already voted for exactly it (sign
    again: the coordinator asks twice); raises the refusal otherwise."""
    if proposal.coordinator != asked_by:
        raise refuse("not_coordinator", "only a round's coordinator asks for votes")
    if existing is not None and existing.role == "participant":
        if existing.state == "voted" and existing.proposal == data:
            return True
        raise refuse("round_seen", f"this round is already {existing.state} here")
    if now > proposal.deadline_ms:
        raise refuse("too_late", "the round's deadline has passed")
    return False


def check_proposal(
    me: bytes,
    coordinator: bytes,
    snapshot: Sequence[SignedStatement],
    proposal: Proposal,
    data: bytes,
) -> None:
    """The proposal follows, byte for byte, from a snapshot that includes our statement."""
    check_snapshot(snapshot, proposal.nonce)
    if not any(s.statement.community_id == me for s in snapshot):
        raise refuse("not_in_snapshot", "our statement is not in the snapshot")
    again = propose(snapshot, proposal.nonce, coordinator, proposal.deadline_ms)
    if again is None or again.encode() != data:
        raise refuse("bad_proposal", "the proposal does not follow from the snapshot")


def may_vote(policy: str, busy: bool) -> None:
    """The operator's policy, and one round at a time."""
    if policy == "refuse":
        raise refuse(
            "clearing_refused", "this community's operator does not take part in clearing rounds"
        )
    if busy:
        raise refuse("busy", "this community is in another clearing round")


def held_lines(lines: Mapping[bytes, LineState], proposal: Proposal, me: bytes) -> set[str]:
    """Our line accounts in ``proposal``: held still (no new holds) until it is decided."""
    return {lines[x.line_id].handle for x in proposal.items_of(me) if x.line_id in lines}


def check_commit(
    asked_by: bytes, proposal: Proposal, data: bytes, votes: Mapping[bytes, bytes]
) -> None:
    """A commit comes from the round's coordinator and every vote in it verifies."""
    if proposal.coordinator != asked_by:
        raise refuse("not_coordinator", "only a round's coordinator announces its outcome")
    for community, sig in votes.items():
        if not vote_is_valid(community, data, sig):
            raise BadSignature("a vote in the commit does not verify")


# -- in doubt, and after a restart ---------------------------------------------------------------


def outcome_answer(record: RoundRecord | None) -> tuple[str, list[Wire]]:
    """The coordinator's answer to ``outcome``: the envelope's kind and fields."""
    if record is None or record.role != "coordinator":
        return "aborted", [UNKNOWN_ROUND]
    if record.state == "committed":
        if record.proposal is None or record.votes is None:
            raise LocalProtocolError("a committed round keeps its proposal and votes")
        return "committed", [record.proposal, codec.unpack(record.votes)]
    if record.state == "proposing":
        return "pending", []
    return "aborted", [record.reason]


@dataclass(frozen=True, slots=True)
class Committed:
    proposal: bytes
    votes: dict[bytes, bytes]


@dataclass(frozen=True, slots=True)
class Aborted:
    reason: str


def outcome_of(kind: str, fields: Sequence[Wire]) -> Committed | Aborted | None:
    """What a participant in doubt learns from the coordinator's answer (None: pending)."""
    if kind == "committed":
        return Committed(
            codec.expect_bytes(fields[0], "proposal"), dict(votes_from_wire(fields[1]))
        )
    if kind == "aborted":
        return Aborted(codec.expect_str(fields[0], "reason")[:500] or "aborted")
    return None


def stopped(record: RoundRecord, running: set[bytes]) -> bool:
    """A round we coordinate, recorded ``proposing``, that no task of ours runs: we stopped
    mid-round, so it aborts."""
    return record.nonce not in running


def to_apply(
    record: RoundRecord, me: bytes, applied: Callable[[bytes], bool]
) -> tuple[bytes, dict[bytes, bytes]] | None:
    """A round we committed, with us among its participants, whose clear entry is not in
    our log yet: ``(proposal, votes)`` to apply it with; else None."""
    if record.round_id is None or applied(record.round_id):
        return None
    if record.proposal is None or record.votes is None:
        raise LocalProtocolError("a committed round keeps its proposal and votes")
    if me not in Proposal.decode(record.proposal).participants:
        return None
    return record.proposal, unpack_votes(record.votes)


def in_doubt(record: RoundRecord, now: int) -> bool:
    """A round we voted in whose commit is late: ask the coordinator for the outcome."""
    return now - record.created_ms > IN_DOUBT_AFTER_MS


# -- packing --------------------------------------------------------------------------------------


def pack_votes(votes: Mapping[bytes, bytes]) -> bytes:
    return codec.pack([[c, s] for c, s in sorted(votes.items())])


def unpack_votes(data: bytes) -> dict[bytes, bytes]:
    return dict(votes_from_wire(codec.unpack(data, MAX_VOTES_BYTES, "votes")))


def unpack_snapshot(value: Wire) -> list[SignedStatement]:
    if not isinstance(value, list) or len(value) > MAX_ROUND_COMMUNITIES:
        raise InvalidInput(f"a snapshot is an array of at most {MAX_ROUND_COMMUNITIES}")
    return [SignedStatement.from_wire(item) for item in value]
