"""The WSGI entry point gunicorn serves: `web.wsgi:application`."""
from __future__ import annotations

import os

from integration.settings import load_settings
from integration.zendesk_auth import warn_if_deprecated
from web.app import create_app
from workers.logs import configure_logging
from workers.sentry import init_sentry

_settings = load_settings(os.environ)
configure_logging(_settings.log_format)
init_sentry(_settings, "web")
warn_if_deprecated(_settings, "web")
application = create_app(_settings)
