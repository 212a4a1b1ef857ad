"""The one error type the library raises for problems a person can fix."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager


class DigitsError(Exception):
    """A failure with a message a person can act on; the CLI prints it as one line."""

    exit_code = 1


class ConfigError(DigitsError):
    """A bad config file or flag: a usage error, so the exit status is 2."""

    exit_code = 2


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (or its class name), to quote in one line."""
    return (str(error).strip().splitlines() or [error.__class__.__name__])[0]


def extra_packages(extra: str) -> set[str]:
    """What an extra of the package (pyproject.toml's optional dependencies) installs, by name."""
    from importlib.metadata import requires

    wanted = f'extra == "{extra}"'
    return {re.match(r"[\w.-]+", r).group().lower() for r in requires("digits") or [] if wanted in r}


@contextmanager
def needs_extra(what: str, extra: str = "train") -> Iterator[None]:
    """Turn the import error of a package only an extra installs into one line that says what to do."""
    try:
        yield
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in extra_packages(extra):
            raise
        raise DigitsError(
            f"{what} needs {e.name}, which a reader install leaves out; install it with: {install_command(extra)}"
        ) from None


def install_command(extra: str) -> str:
    """The pip command that adds an extra to this install of digits: from the folder or file it was
    installed from, which pip records (PEP 610), as digits is not on PyPI to be installed by name."""
    import json
    from importlib.metadata import PackageNotFoundError, distribution
    from urllib.parse import unquote, urlparse

    try:
        origin = json.loads(distribution("digits").read_text("direct_url.json") or "{}")
    except (PackageNotFoundError, ValueError):
        origin = {}
    if not origin.get("url", "").startswith("file://"):
        return f'pip install ".[{extra}]" (in a clone of digits)'
    editable = "-e " if origin.get("dir_info", {}).get("editable") else ""
    return f'pip install {editable}"{unquote(urlparse(origin["url"]).path)}[{extra}]"'
