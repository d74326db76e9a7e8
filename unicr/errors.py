"""One exception family for everything unicr refuses.

Every message names the bad input (file, field, parameter, value) so that a
user never needs a traceback to see what went wrong.  The command-line layer
turns any :class:`UnicrError` into exit code 2 and a one-line message.
"""

from __future__ import annotations


class UnicrError(Exception):
    """Base class of every error unicr raises on purpose."""


class InvalidParameterError(UnicrError, ValueError):
    """A numeric argument or noise parameter is out of range, non-finite or of the wrong type."""


class InfiniteVarianceError(InvalidParameterError):
    """``sigma`` (per-coordinate RMS) was requested for a noise whose variance is infinite."""


class UnknownNoiseError(UnicrError, KeyError):
    """A noise name is neither registered nor a readable spec file."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown noise"


class SpecError(UnicrError, ValueError):
    """A noise spec file (TOML) or density expression is invalid.

    Attributes ``file``, ``field`` and ``value`` locate the problem; the message
    always contains them.
    """

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None,
                 value: object = None):
        self.file = file
        self.field = field
        self.value = value
        where = []
        if file is not None:
            where.append(f"{file}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ": ".join(where)
        text = message
        if value is not None and repr(value) not in message:
            text = f"{message} (got {value!r})"
        super().__init__(f"{prefix}: {text}" if prefix else text)


class ExpressionError(SpecError):
    """A density expression uses a forbidden construct, an unknown symbol or bad syntax."""


class NormalisationError(SpecError):
    """A density cannot be normalised: infinite or zero mass, negative/NaN values, mass escaping."""


class NotProductNoiseError(UnicrError, TypeError):
    """An engine that needs an i.i.d. (product) noise was given a joint one."""


class ConvergenceError(UnicrError, RuntimeError):
    """A numerical search did not bracket or converge; never replaced by a sentinel value."""
