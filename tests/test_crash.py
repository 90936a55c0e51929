"""Killing the writer at an arbitrary instant loses no acknowledged entry."""

import os
import signal
import subprocess
import sys
import textwrap

from letsnode.audit.runner import audit_folder
from letsnode.community.folder import Community

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from letsnode.community.folder import Community
    c = Community.create(Path(sys.argv[1]), name="Crash Bank", short="crash", unit="HOUR",
                         scale=2, floor=-10**9, ceiling=None)
    c.admit("maria")
    c.admit("ahmed")
    n = 0
    while True:
        n += 1
        payer, payee = ("maria", "ahmed") if n % 2 else ("ahmed", "maria")
        entry = c.pay(c.sign_order(payer, payee, n, "x"))
        print(entry.seq, flush=True)  # acknowledged: pay() returned after the commit
""")


def test_a_killed_writer_keeps_every_acknowledged_entry(tmp_path):
    folder = tmp_path / "d"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE, text=True
    )
    acked = -1
    assert proc.stdout is not None
    for _ in range(150):
        acked = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    report = audit_folder(folder)
    assert report.ok, report.fault
    assert report.entries >= acked + 1
    with Community.opened(folder) as c:
        assert c.ledger.next_seq == report.entries
        assert c.ledger.total() == 0
