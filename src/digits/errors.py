"""The one error type the library raises for problems a person can fix."""


class DigitsError(Exception):
    """A failure with a message a person can act on; the CLI prints it as one line."""

    exit_code = 1


class ConfigError(DigitsError):
    """A bad config file or flag: a usage error, so the exit status is 2."""

    exit_code = 2


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (or its class name), to quote in one line."""
    return (str(error).strip().splitlines() or [error.__class__.__name__])[0]
