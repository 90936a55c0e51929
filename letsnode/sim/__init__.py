"""The network simulator: many communities, each a real letsnode node, on a virtual clock.

A scenario (TOML, ``simulations/README.md``) says which communities exist, the credit lines
between them, how their members trade, how often they clear, and what goes wrong. The
runner builds every community as a real node (``Node`` and ``Federation``: the same ledger
rules, transfer, line and clearing desks and routing adverts as ``letsnode run``) over the
in-memory transport on trio's ``MockClock``, so that simulated time jumps whenever every
node is idle; or, for a small scenario, over real libp2p hosts in real time.

Modules, lowest first: ``scenario`` (what a scenario is), ``parse`` (reading and checking
TOML, overrides), ``topology`` (generated lines), ``streams`` (seeded generators and keys),
``trade`` (who pays whom, how much), ``stats`` (exact, deterministic statistics),
``counting`` (messages and bytes per node), ``schedule`` (deterministic trio), ``nodes``
(a simulated community's node), ``metrics``, ``payments``, ``runner``, ``validation``,
``outputs``, ``plots``, ``report``, ``sweep`` and ``sweep_report``.

Determinism: the same scenario and seed give byte-identical ``summary.json`` and
``metrics.csv``: every random choice comes from a generator seeded per community (and the
memory network's own seeded drops), trio's scheduler is made deterministic for the run,
and every figure written is an integer or a float rounded to six decimals.
"""
