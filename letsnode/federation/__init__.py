"""The federation: credit lines with partner communities, payments that cross them hop by
hop, line adverts for routing. Pure decisions live in ``letsnode.core``; this package is
the trio shell that talks to peers through a ``PeerTransport``."""
