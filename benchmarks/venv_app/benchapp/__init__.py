"""benchapp: a small service whose dependencies make a realistic virtualenv to package."""

__version__ = "1.4.0"
__all__ = ["__version__"]
