"""One module per CLI command; see :mod:`hccbayes.cli`."""
