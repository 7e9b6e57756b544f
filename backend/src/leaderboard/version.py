"""The service's version (a module of its own: views name it without importing the package)."""

__version__ = "0.1.0"
