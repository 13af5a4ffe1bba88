"""Objects the web app's modules share: the API spec and the Flask extensions.

Each is bound to an app in ``create_app``; nothing here touches an app at import time.
"""

from __future__ import annotations

from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from loom_common.openapi import make_spec

spec = make_spec("web")
csrf = CSRFProtect()
cache = Cache()
login_manager = LoginManager()
# Limits are declared on the views that need them (log-in); nothing is limited by default.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
