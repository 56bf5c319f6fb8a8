"""Domain errors. The CLI turns every `RadllamaError` into one line on stderr and exit code 2.

Raise them with a message that names the problem *and the fix*, e.g.
``column 'findings' not found; columns are [a, b]; set columns.findings in the config``.
"""


class RadllamaError(Exception):
    """A user-facing error: bad input, bad config, missing file. Never a bug."""

    exit_code = 2


class ConfigError(RadllamaError):
    """A config value or option is invalid."""


class DataError(RadllamaError):
    """Input data is missing, empty, unreadable or lacks a required column."""
