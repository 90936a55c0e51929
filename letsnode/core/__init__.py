"""The pure core of letsnode: value types, encoding, signatures and ledger rules.

Nothing in this package performs I/O (no files, sockets, clocks or databases): every
function takes its inputs as values and returns values, so every node computes the same
bytes, hashes and decisions from the same inputs.
"""
