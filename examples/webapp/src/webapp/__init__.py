"""webapp: a tiny WSGI service that uses two C-extension dependencies."""

__version__ = "1.0"
