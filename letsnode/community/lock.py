"""The data folder's writer lock: one writer at a time, whether the node or a command.

``D/node.lock`` is locked exclusively with ``flock``: the running node holds it for its
whole life, and a ``letsnode`` command that writes while no node runs holds it for the
length of its write. Whoever holds it loads the ledger's state only after taking it, so no
writer ever works from a state older than the database. The operating system drops the
lock when its holder exits, however it exits (a SIGKILL included), so a crash never leaves
the folder locked.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from letsnode.core.errors import LetsError

LOCK_NAME = "node.lock"


class FolderBusy(LetsError):
    code = "folder_busy"


class FolderLock:
    """The writer lock of one data folder; ``try_acquire`` never blocks."""

    def __init__(self, data: Path) -> None:
        self.path = data / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True once this object holds it."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor of the lock file drops the lock


def is_locked(data: Path) -> bool:
    """True while someone (a node, or a command writing) holds ``data``'s writer lock."""
    if not (data / LOCK_NAME).exists():
        return False
    probe = FolderLock(data)
    if probe.try_acquire():
        probe.release()
        return False
    return True
