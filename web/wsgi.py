"""The WSGI entry point gunicorn serves: `web.wsgi:application`."""
from __future__ import annotations

import os

from integration.settings.declared import load_settings
from web import startup

application = startup.receiver(load_settings(os.environ))
