"""The per-process Context a task runs with, built lazily after fork (sessions and sockets must
not be shared between prefork children)."""
from __future__ import annotations

import os

from integration.wiring import Context, build_context
from integration.settings.declared import Settings

_settings: Settings | None = None
_context: Context | None = None
_pid: int | None = None


def configure(settings: Settings) -> None:
    global _settings, _context
    _settings, _context = settings, None


def settings() -> Settings:
    if _settings is None:
        raise RuntimeError("workers.runtime.configure(settings) was not called")
    return _settings


def context() -> Context:
    global _context, _pid
    if _context is None or _pid != os.getpid():
        from workers import metrics

        _context = build_context(settings(), on_call=metrics.record_api_call)
        _pid = os.getpid()
    return _context
