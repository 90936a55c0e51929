"""Node-to-node messaging behind one small interface (``PeerTransport``), with a libp2p
implementation for the real network and an in-memory one for tests and simulations."""
