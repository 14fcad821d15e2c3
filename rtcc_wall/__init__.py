"""rtcc-wall: a desktop video wall for Real Time Crime Centers."""

__version__ = "0.1.0"
