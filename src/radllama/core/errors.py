"""Domain errors. The CLI turns every `RadllamaError` into one line on stderr and its
`exit_code`: 2 for bad input or config, 3 when a run's rows mostly failed (`FailureRateError`).

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


class FailureRateError(RadllamaError):
    """More than the allowed share of a run's rows failed (an endpoint down, a server gone):
    what was written is not a result. Exit code 3, apart from bad input (2)."""

    exit_code = 3


def check_failure_rate(
    failed: int, total: int, max_rate: float, subject: str, first_error: str | None, fix: str
) -> str | None:
    """None when no row failed; a warning line when some did; FailureRateError when all of
    them did (whatever `max_rate`) or more than `max_rate` (a share, 0-1) of them.

    >>> check_failure_rate(1, 4, 0.5, "generate", "HTTP 500", "rerun")
    'warning: generate: 1 of 4 rows failed (25%); first error: HTTP 500; rerun'
    """
    if not failed or not total:
        return None
    line = f"{subject}: {failed} of {total} rows failed ({failed / total:.0%})"
    detail = (f"; first error: {first_error}" if first_error else "") + f"; {fix}"
    if failed == total or failed / total > max_rate:
        raise FailureRateError(f"{line}, more than --max-failure-rate {max_rate:g}{detail}")
    return f"warning: {line}{detail}"
