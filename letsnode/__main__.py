"""``python -m letsnode`` runs the letsnode command."""

from letsnode.cli import main

main()
