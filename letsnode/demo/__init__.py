"""The demos behind ``./scripts/run``: one community on the command line, then a federation."""
