"""Errors raised by the simulator."""

from __future__ import annotations


class ConfigError(ValueError):
    """An invalid configuration, data set or initialization.

    The message always names the offending parameter and the allowed range.
    """


def require(cond: bool, param: str, allowed: str, got: object) -> None:
    """Raise :class:`ConfigError` naming ``param`` unless ``cond`` holds."""
    if not cond:
        raise ConfigError(f"{param} must be {allowed}; got {got!r}")


def require_real(param: str, value: object, allowed: str = "a real number") -> None:
    """Raise :class:`ConfigError` naming ``param`` unless ``value`` is a real number (not a bool, a string
    or None), so that range checks after it compare numbers."""
    import numbers

    require(isinstance(value, numbers.Real) and not isinstance(value, bool), param, allowed, value)
