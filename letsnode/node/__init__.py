"""The running node: the trio shell that wires core, store, net, federation and web together."""
