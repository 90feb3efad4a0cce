"""Every command ends on a failure with one line naming the cause and a non-zero exit, never a
traceback: what an operator can act on (Redis down, a bad path, an API's refusal) is said plainly,
and anything else by its type and first line."""
from __future__ import annotations

import click
import redis

from integration.errors import ApiError
from integration.settings.declared import SettingsError


def one_line(exc: BaseException) -> str:
    """The cause of a failed command, as one line (no secret: exception texts carry none)."""
    text = " ".join(str(exc).split())[:300]
    if isinstance(exc, redis.ConnectionError):
        return f"cannot reach Redis (REDIS_URL): {text}"
    if isinstance(exc, redis.RedisError):
        return f"Redis refused the command: {text}"
    if isinstance(exc, FileNotFoundError):
        return f"no such file or directory: {exc.filename}"
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename}"
    if isinstance(exc, IsADirectoryError):
        return f"is a directory: {exc.filename}"
    if isinstance(exc, (SettingsError, ApiError, OSError)):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class OneLineErrors(click.Group):
    """A command group whose commands fail with one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.exceptions.UsageError as exc:  # a bad option: its one line, not the usage
            click.echo(f"omneo-zendesk: {' '.join(exc.format_message().split())}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort,
                SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            click.echo(f"omneo-zendesk: {one_line(exc)}", err=True)
            ctx.exit(1)
