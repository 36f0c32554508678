"""The two kinds of failure the user sees as one line (``chromaprior: error: ...``).

* :class:`InputError`: anything caused by the input files or the options: a missing or
  corrupt image, a model of the wrong task, an unknown preset, a size the network cannot
  take. Library checks that reject a user's choice raise it (it is a ``ValueError``, so
  ``except ValueError`` keeps working).
* :class:`MissingExtra`: an optional dependency is not installed (an ``ImportError`` too).

``OSError`` (unreadable, unwritable, disk full) is reported in one line as well; every other
exception is a bug and the command line shows its traceback (``chromaprior --debug`` shows
the traceback of the one-line errors too).
"""

from __future__ import annotations

__all__ = ["InputError", "MissingExtra"]


class InputError(ValueError):
    """A user-facing problem with an input, an output or an option (message is one line)."""


class MissingExtra(InputError, ImportError):
    """An optional dependency is missing; the message says which extra to install."""
