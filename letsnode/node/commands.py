"""What a running node does for the ``letsnode`` commands (over the control socket).

Every command takes JSON arguments and returns JSON. Bytes travel as hex. Signatures are
made by the CLI (it holds the keys of members it created), never here.
"""

from __future__ import annotations

from typing import Any

from letsnode.core.clearing.commit import RoundReport
from letsnode.core.errors import InvalidInput
from letsnode.core.names import check_slug
from letsnode.core.wire.entries import Admit, Limits, SignedOrder, Status
from letsnode.federation.service import Federation
from letsnode.federation.transfers import Outcome
from letsnode.net.peerid import peer_id_from_community_id
from letsnode.node.control import Command
from letsnode.node.facade import Node
from letsnode.store.federation_store import Proposal


def unhex(value: Any, what: str) -> bytes:
    try:
        return bytes.fromhex(str(value))
    except ValueError:
        raise InvalidInput(f"{what} must be hex") from None


def peer_id(community_id: bytes) -> str:
    return str(peer_id_from_community_id(community_id))


def outcome_json(o: Outcome) -> dict[str, Any]:
    return {
        "transfer_id": o.transfer_id.hex(),
        "state": o.state,
        "code": o.code,
        "message": o.message,
        "amount_minor": o.amount,
        "delivered_minor": o.delivered,
        "route": [x.hex() for x in o.route],
    }


def report_json(r: RoundReport) -> dict[str, Any]:
    return {
        "round": r.nonce.hex(),
        "round_id": r.round_id.hex() if r.round_id else None,
        "state": r.state,
        "cleared_minor": r.cleared,
        "communities": r.communities,
        "participants": [x.hex() for x in r.participants],
        "reason": r.reason,
        "unreachable": [x.hex() for x in r.unreachable],
    }


def proposal_json(p: Proposal) -> dict[str, Any]:
    from letsnode.core.wire.lines import LineTerms

    t = LineTerms.decode(p.terms)
    return {
        "id": p.id,
        "direction": p.direction,
        "state": p.state,
        "partner": p.partner.hex(),
        "partner_peer_id": peer_id(p.partner),
        "version": p.version,
        "terms": {
            "a": t.a_short,
            "b": t.b_short,
            "rate": f"{t.rate_num}/{t.rate_den}",
            "a_floor_minor": t.a_floor,
            "a_ceiling_minor": t.a_ceiling,
            "b_floor_minor": t.b_floor,
            "b_ceiling_minor": t.b_ceiling,
        },
    }


def control_commands(node: Node) -> dict[str, Command]:
    def fed() -> Federation:
        assert node.federation is not None
        return node.federation

    async def info(args: dict[str, Any]) -> Any:
        return {
            "peer_id": peer_id(node.community_id),
            "addrs": fed().transport.listen_addrs(),
        }

    async def admit(args: dict[str, Any]) -> Any:
        g = node.community.genesis
        floor = g.floor if args.get("floor") is None else int(args["floor"])
        ceiling = args.get("ceiling", g.ceiling)
        body = Admit(
            args["handle"],
            unhex(args["key"], "key"),
            args.get("kind", "member"),
            floor,
            None if ceiling is None else int(ceiling),
        )
        return (await node.submit(body)).seq

    async def limits(args: dict[str, Any]) -> Any:
        ceiling = args.get("ceiling")
        body = Limits(args["handle"], int(args["floor"]), None if ceiling is None else int(ceiling))
        return (await node.submit(body)).seq

    async def status(args: dict[str, Any]) -> Any:
        return (await node.submit(Status(args["handle"], args["status"]))).seq

    async def next_nonce(args: dict[str, Any]) -> Any:
        return node.community.account(args["handle"]).last_nonce + 1

    async def pay(args: dict[str, Any]) -> Any:
        signed = SignedOrder.from_parts(
            unhex(args["order"], "order"), unhex(args["signature"], "signature")
        )
        return (await node.pay(signed)).seq

    async def resolve(args: dict[str, Any]) -> Any:
        address = str(args["address"])
        handle, _, community = address.partition("@")
        check_slug(handle)
        cid = await fed().resolve_peer(community)
        return {"community_id": cid.hex(), "handle": handle}

    async def pay_remote(args: dict[str, Any]) -> Any:
        outcome = await fed().transfers.pay(
            unhex(args["order"], "order"), unhex(args["signature"], "signature")
        )
        return outcome_json(outcome)

    async def line_propose(args: dict[str, Any]) -> Any:
        peer = await fed().resolve_peer(str(args["peer"]))
        proposal = await fed().lines.propose(
            peer,
            int(args["limit_out"]),
            int(args["limit_in"]),
            int(args.get("rate_num", 1)),
            int(args.get("rate_den", 1)),
        )
        return proposal_json(proposal)

    async def line_accept(args: dict[str, Any]) -> Any:
        return proposal_json(await fed().lines.accept(str(args["id"])))

    async def line_lower(args: dict[str, Any]) -> Any:
        peer = await fed().resolve_peer(str(args["peer"]))
        terms = await fed().lines.lower(peer, int(args["limit_in"]))
        return {"version": terms.version}

    async def line_proposals(args: dict[str, Any]) -> Any:
        return [proposal_json(p) for p in fed().store.proposals()]

    async def clearing_run(args: dict[str, Any]) -> Any:
        timeout = float(args.get("timeout", 10.0))
        if not 1.0 <= timeout <= 300.0:
            raise InvalidInput(f"the round timeout is from 1 to 300 seconds, not {timeout}")
        return report_json(await fed().clearing.run_round(timeout))

    async def peers(args: dict[str, Any]) -> Any:
        table = fed().routes.adverts
        partners = fed().partners.ids()
        out = []
        for p in fed().transport.peers():
            advert = table.get(p.community_id)
            out.append(
                {
                    "community_id": p.community_id.hex(),
                    "peer_id": peer_id(p.community_id),
                    "short": advert.short if advert else None,
                    "name": advert.name if advert else None,
                    "connected": p.connected,
                    "partner": p.community_id in partners,
                    "addrs": list(p.addrs),
                }
            )
        return out

    return {
        "info": info,
        "admit": admit,
        "limits": limits,
        "status": status,
        "next_nonce": next_nonce,
        "pay": pay,
        "resolve": resolve,
        "pay_remote": pay_remote,
        "line_propose": line_propose,
        "line_accept": line_accept,
        "line_lower": line_lower,
        "line_proposals": line_proposals,
        "peers": peers,
        "clearing_run": clearing_run,
    }
