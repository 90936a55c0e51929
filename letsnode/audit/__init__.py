"""Auditing data folders and exported logs on every core (the pure half is in letsnode.core)."""
