"""The WSGI entry point gunicorn serves: `web.wsgi:application`."""
from __future__ import annotations

import os

from integration.settings import load_settings
from web import startup

application = startup.receiver(load_settings(os.environ))
