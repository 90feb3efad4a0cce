"""Click's context object: the deployment's settings, read from the environment once, when the
first command that needs them asks. `dev`, `app package` and `--help` need none, so they run
without a valid environment."""
from __future__ import annotations

import functools
import sys
from collections.abc import Mapping

import click

from integration.settings.declared import Settings, SettingsError, load_settings


class CliContext:
    def __init__(self, environ: Mapping[str, str]):
        self._environ = environ
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        """The validated settings; a bad one ends the command with one line naming it (exit 2)."""
        if self._settings is None:
            try:
                self._settings = load_settings(self._environ)
            except SettingsError as exc:
                click.echo(f"omneo-zendesk: {exc}", err=True)
                sys.exit(2)
        return self._settings


def pass_settings(command):
    """Call `command` with the settings of the context object as its first argument."""
    @functools.wraps(command)
    def with_settings(*args, **kwargs):
        return command(click.get_current_context().find_object(CliContext).settings, *args, **kwargs)

    return with_settings
