"""hello-cli: a tiny command-line application shipped as a Debian package."""

__version__ = "1.0"
