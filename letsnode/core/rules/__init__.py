"""The ledger rules: the state a community's log builds and how each entry changes it."""
