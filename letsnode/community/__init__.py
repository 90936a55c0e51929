"""A community's data folder as a library: its layout, its keys and its single writer."""
