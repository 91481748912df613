"""nvr: a network video recorder for IP cameras with real-time object detection."""

__version__ = "0.1.0"
