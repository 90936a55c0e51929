"""Clearing: the set-off engine and the rounds that apply it between communities."""
