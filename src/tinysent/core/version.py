"""The package version (one place: the package, its metadata and every model folder it writes)."""

__version__ = "0.1.0"
