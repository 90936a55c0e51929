"""The object every command gets from ``letsnode``'s options: the data folder.

Kept apart from ``common.py`` (and importing the ledger only when a command asks for it)
so that the main command can build it without loading the database layer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from letsnode.community.folder import Community
    from letsnode.node.control import ControlClient


class Context:
    def __init__(self, data: Path) -> None:
        self.data = data

    @contextmanager
    def community(self) -> Iterator[Community]:
        from letsnode.cli.common import user_errors
        from letsnode.community.folder import Community

        with user_errors(), Community.opened(self.data) as community:
            yield community

    @contextmanager
    def writing(self) -> Iterator[tuple[ControlClient | None, Community]]:
        """For a command that writes: the running node's control client (None when no node
        runs: the command then holds the folder's writer lock until the block ends) and the
        community, opened only once that is settled, so its state is current."""
        from letsnode.cli.common import user_errors
        from letsnode.community.folder import Community
        from letsnode.node.control import writer

        with user_errors(), writer(self.data) as client, Community.opened(self.data) as c:
            yield client, c
