"""The ``stellwerk`` command line."""
