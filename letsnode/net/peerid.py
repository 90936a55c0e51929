"""Community id ⇄ libp2p peer id.

A node's ledger key is its libp2p identity (same 32-byte seed), so the peer id of a node *is*
its community id: an identity multihash of the protobuf-encoded Ed25519 public key
(``12D3KooW...``). Only Ed25519 identities name communities; any other key type (RSA,
secp256k1, ECDSA) or a hashed (non-identity) peer id is rejected with ``InvalidPeerId``.
"""

from __future__ import annotations

import multiaddr  # type: ignore[import-untyped]
import nacl.bindings
from libp2p.crypto.ed25519 import Ed25519PublicKey, create_new_key_pair
from libp2p.crypto.keys import KeyPair, KeyType
from libp2p.peer.id import ID

from letsnode.core.errors import InvalidInput
from letsnode.net.transport import InvalidPeerId

__all__ = [
    "COMMUNITY_ID_BYTES",
    "InvalidPeerId",
    "community_id_from_peer_id",
    "community_id_from_seed",
    "key_pair_from_seed",
    "peer_addr",
    "peer_id_from_community_id",
    "split_peer_addr",
    "validate_community_id",
]

COMMUNITY_ID_BYTES = 32
SEED_BYTES = 32


def validate_community_id(community_id: bytes) -> bytes:
    """Return ``community_id`` if it is a usable Ed25519 public key, else raise."""
    if not isinstance(community_id, bytes) or len(community_id) != COMMUNITY_ID_BYTES:
        raise InvalidPeerId(
            f"a community id is a {COMMUNITY_ID_BYTES}-byte Ed25519 public key, "
            f"got {community_id!r:.80}"
        )
    # Rejects non-canonical encodings and small-order points: no honest key is either.
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(community_id):
        raise InvalidPeerId(f"community id {community_id.hex()} is not a valid Ed25519 public key")
    return community_id


def key_pair_from_seed(seed: bytes) -> KeyPair:
    """The libp2p identity of the node whose ledger key has this 32-byte seed."""
    if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
        raise InvalidInput(f"a node seed is {SEED_BYTES} bytes, got {len(seed)}")
    return create_new_key_pair(seed)


def community_id_from_seed(seed: bytes) -> bytes:
    """The community id (Ed25519 public key) of the node with this seed."""
    return key_pair_from_seed(seed).public_key.to_bytes()


def peer_id_from_community_id(community_id: bytes) -> ID:
    """The libp2p peer id that names ``community_id``."""
    validate_community_id(community_id)
    return ID.from_pubkey(Ed25519PublicKey.from_bytes(community_id))


def community_id_from_peer_id(peer_id: ID | str) -> bytes:
    """The community id named by ``peer_id`` (an ``ID`` or its base58 text).

    Raises ``InvalidPeerId`` unless the peer id is an identity multihash of an Ed25519 key
    (the only kind a letsnode has), in its canonical encoding.
    """
    if isinstance(peer_id, str):
        try:
            peer_id = ID.from_base58(peer_id)
        except Exception as exc:
            raise InvalidPeerId(f"{peer_id!r:.80} is not a base58 peer id") from exc
    key = peer_id.extract_public_key()
    if key is None or key.get_type() != KeyType.Ed25519:
        raise InvalidPeerId(
            f"peer {peer_id} is not an Ed25519 identity (a letsnode's peer id starts with 12D3KooW)"
        )
    community_id = key.to_bytes()
    validate_community_id(community_id)
    if ID.from_pubkey(Ed25519PublicKey.from_bytes(community_id)) != peer_id:
        raise InvalidPeerId(f"peer id {peer_id} is not in canonical form")
    return community_id


def split_peer_addr(addr: str) -> tuple[multiaddr.Multiaddr, bytes]:
    """Split ``/ip4/1.2.3.4/tcp/4001/p2p/<peer id>`` into (transport address, community id)."""
    try:
        full = multiaddr.Multiaddr(addr)
        peer_text = full.value_for_protocol("p2p")
    except Exception as exc:
        raise InvalidPeerId(
            f"{addr!r:.120} is not a peer address like /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW..."
        ) from exc
    if not peer_text:
        raise InvalidPeerId(f"{addr!r:.120} does not end in /p2p/<peer id>")
    community_id = community_id_from_peer_id(str(peer_text))
    transport_addr = full.decapsulate(multiaddr.Multiaddr(f"/p2p/{peer_text}"))
    return transport_addr, community_id


def peer_addr(addr: str | multiaddr.Multiaddr, community_id: bytes) -> str:
    """``addr`` ending in ``/p2p/<peer id of community_id>`` (added if missing, checked if not)."""
    text = str(addr)
    if "/p2p/" not in text:
        text = f"{text}/p2p/{peer_id_from_community_id(community_id)}"
    _, named = split_peer_addr(text)
    if named != community_id:
        raise InvalidPeerId(f"{text:.120} names another peer than {named.hex()}")
    return text
