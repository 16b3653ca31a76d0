"""Configuration, read from environment variables.

Every setting has a development default so that `make run` works on a fresh machine;
`ProductionConfig` refuses to start with the defaults that are unsafe in production.
"""

import datetime as dt
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 (refused by ProductionConfig)


def database_url(url: str | None) -> str:
    """Return a SQLAlchemy URL, defaulting to SQLite under instance/ and selecting psycopg 3."""
    if not url:
        return f"sqlite:///{BASE_DIR / 'instance' / 'vertskap.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    # Password hashing: argon2id; None means the library's RFC 9106 parameters.
    ARGON2_PARAMS = None
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # psycopg prepares a statement a connection runs often; off behind a pooler that cannot
    # keep prepared statements (PgBouncer before 1.21, or without max_prepared_statements).
    DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)

    # Babel: Norwegian Bokmål first, English second.
    LANGUAGES = ("nb", "en")
    BABEL_DEFAULT_LOCALE = "nb"
    BABEL_DEFAULT_TIMEZONE = "Europe/Oslo"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    OFFICE_TIMEZONE = os.environ.get("OFFICE_TIMEZONE", "Europe/Oslo")

    # Personal data: dietary/access needs are deleted this many days after a contact's last
    # event; contacts without activity for this many years are flagged for review.
    RETENTION_SENSITIVE_DAYS = int(os.environ.get("RETENTION_SENSITIVE_DAYS", "30"))
    RETENTION_REVIEW_YEARS = int(os.environ.get("RETENTION_REVIEW_YEARS", "3"))

    # Public address of the app, used in mails and feeds when there is no request.
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None  # a form left open all day must still save

    # Sessions end after this long without a request, and this long after the password login
    # (ASVS 3.3: 30 minutes idle, 12 hours absolute); a remember-me cookie lives no longer.
    SESSION_IDLE_TIMEOUT = int(os.environ.get("SESSION_IDLE_TIMEOUT", str(30 * 60)))
    SESSION_ABSOLUTE_TIMEOUT = int(os.environ.get("SESSION_ABSOLUTE_TIMEOUT", str(12 * 3600)))
    REMEMBER_COOKIE_DURATION = dt.timedelta(seconds=SESSION_ABSOLUTE_TIMEOUT)
    # Login throttling: more than LOGIN_MAX_FAILURES failed logins for one account, or more
    # than LOGIN_MAX_FAILURES_PER_ADDRESS from one address (an office shares one), within
    # LOGIN_WINDOW seconds are refused with 429 (counted in the database).
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "10"))
    LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", "100"))
    LOGIN_WINDOW = int(os.environ.get("LOGIN_WINDOW", str(15 * 60)))
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust (0: none).
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", str(365 * 24 * 3600)))
    # ProductionConfig sets this: create_app() then refuses debug mode and a weak SECRET_KEY.
    REFUSE_UNSAFE_SETTINGS = False

    PER_PAGE = int(os.environ.get("PER_PAGE", "25"))
    # Lists count their matches up to this many; beyond it they say "more than 10,000".
    LIST_COUNT_CAP = int(os.environ.get("LIST_COUNT_CAP", "10000"))

    # Outgoing mail.
    SMTP_HOST = os.environ.get("SMTP_HOST", "127.0.0.1")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "1025"))
    SMTP_USER = os.environ.get("SMTP_USER", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_STARTTLS = env_bool("SMTP_STARTTLS", False)
    MAIL_FROM = os.environ.get("MAIL_FROM", "Vertskap <vertskap@localhost>")

    # A standing-by scheduler tries for the scheduler lock this often (seconds); the active one
    # checks its lock's database connection as often.
    SCHEDULER_STANDBY_SECONDS = float(os.environ.get("SCHEDULER_STANDBY_SECONDS", "30"))


class DevelopmentConfig(Config):
    """`make run`: SQLite and debug-friendly defaults."""


class TestConfig(Config):
    """Used by the test suite; the database URL is set by the fixtures."""

    TESTING = True
    WTF_CSRF_ENABLED = False
    # argon2 is slow on purpose (~0.1-0.3 s a login); the tests log in hundreds of times.
    ARGON2_PARAMS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
    SECRET_KEY = "test-secret"  # noqa: S105
    SERVER_NAME = None


class ProductionConfig(Config):
    """gunicorn behind HTTPS: secure cookies, and no unsafe defaults."""

    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PREFERRED_URL_SCHEME = "https"
    REFUSE_UNSAFE_SETTINGS = True


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "test": TestConfig,
}


def config_from_env():
    """Pick the config class named by VERTSKAP_ENV (development by default)."""
    return CONFIGS[os.environ.get("VERTSKAP_ENV", "development")]
