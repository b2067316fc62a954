"""Superset's configuration for `journey superset` (SUPERSET_CONFIG_PATH points here).

Everything that belongs to one warehouse lives in `SUPERSET_HOME` (`<warehouse>/superset/`,
set by `journey superset`): the metadata database `superset.db` (users, dashboards) and
`secret_key`, generated once, which signs sessions and encrypts the connection settings
in superset.db. Superset serves on 127.0.0.1 only and loads nothing from other hosts.
"""

import os
from pathlib import Path

_HOME = Path(os.environ["SUPERSET_HOME"])

SECRET_KEY = (_HOME / "secret_key").read_text().strip()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_HOME / 'superset.db'}?check_same_thread=false"
DATA_DIR = str(_HOME)

# A local tool: nothing is fetched from another host, not even the usage pixel or web
# fonts that Superset's default policy allows.
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
CONTENT_SECURITY_POLICY_WARNING = False
THEME_FONT_URL_ALLOWED_DOMAINS: list[str] = []

# Chart data comes fresh from published/bi.duckdb (replaced after every run) on every
# request: no cache.
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
RATELIMIT_ENABLED = False
