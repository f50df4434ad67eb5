"""innosim: agent-based simulation of Beijing's national S&T innovation center plan (2016)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("innosim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
