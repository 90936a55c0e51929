"""Private keys on disk: 32-byte Ed25519 seeds in files only their owner can read (0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from letsnode.core.crypto import KEY_BYTES, SigningKey
from letsnode.core.errors import InvalidInput


def write_new_key(path: Path) -> SigningKey:
    """Create a fresh key at ``path`` (mode 600, parent 700); refuse to overwrite one."""
    return write_key(path, SigningKey(secrets.token_bytes(KEY_BYTES)))


def write_key(path: Path, key: SigningKey) -> SigningKey:
    """Write ``key``'s seed at ``path`` as ``write_new_key`` does (mode 600, durable);
    refuse to overwrite a key. For keys made elsewhere (a simulation derives them from its
    seed, so that a run can be repeated)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    seed = key.seed
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(f"a key already exists at {path}; refusing to overwrite it") from None
    with os.fdopen(fd, "wb") as f:
        f.write(seed)
        f.flush()
        os.fsync(f.fileno())
    # The file's name must be durable too: a key is written before its account exists and
    # must outlive a crash right after the account is committed.
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return key


def read_key(path: Path) -> SigningKey:
    try:
        seed = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"no key file at {path}") from None
    if len(seed) != KEY_BYTES:
        raise InvalidInput(f"{path} is not a letsnode key file (expected 32 bytes)")
    return SigningKey(seed)
