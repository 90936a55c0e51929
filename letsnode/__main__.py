"""``python -m letsnode`` runs the letsnode command."""

from letsnode.cli.main import main

main()
