"""The ``letsnode`` command: a thin click layer over the library."""
