"""letsnode: a federated peer-to-peer mutual-credit (LETS) network node."""

__version__ = "0.1.0"
