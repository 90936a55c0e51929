"""``PeerTransport`` over py-libp2p: TCP + Noise + Yamux, one stream per request, GossipSub.

``host.open_libp2p_transport`` runs the host; ``transport.Libp2pTransport`` is what the
node holds; ``peers.Peers`` dials and keeps partners connected; ``frames`` is the framing
of a request and its reply on a stream.
"""
