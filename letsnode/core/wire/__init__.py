"""Wire formats: the canonical codec and every signed message and log body."""
