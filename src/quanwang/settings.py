"""Django settings. Every value that differs between machines comes from the environment."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

from quanwang import config

PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = config.var_dir()

DEBUG = config.env_flag("QUANWANG_DEBUG")
SECRET_KEY = config.secret_key(VAR_DIR)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("QUANWANG_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("QUANWANG_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

# HTTPS hardening (docs/deployment.md). Each protection has its own variable and is on by
# default, except in debug or when every allowed host is a loopback name (the `make run`
# defaults), where the console must keep working over plain HTTP.
HARDENED = not DEBUG and not config.loopback_only(ALLOWED_HOSTS)
SECURE_SSL_REDIRECT = config.env_flag("QUANWANG_SSL_REDIRECT", default=HARDENED)
SECURE_HSTS_SECONDS = config.env_int(
    "QUANWANG_HSTS_SECONDS", default=365 * 24 * 3600 if HARDENED else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = config.env_flag("QUANWANG_HSTS_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = SECURE_HSTS_INCLUDE_SUBDOMAINS
# Behind a proxy that ends TLS, the header it sets (e.g. X-Forwarded-Proto); without it every
# proxied request looks like plain HTTP and the HTTPS redirect would loop.
SECURE_PROXY_SSL_HEADER = config.proxy_ssl_header()
# The Content-Security-Policy of every response (quanwang.core.middleware): scripts only from
# our static files (no inline code, no eval); inline styles stay allowed, since ECharts builds
# its tooltips with style attributes. Shaped like Django 6's SECURE_CSP for the move there.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "django_filters",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "quanwang.core",
    "quanwang.data",
    "quanwang.insight",
    "quanwang.campaigns",
    "quanwang.campaigns.sandbox",
    "quanwang.channels",
    "quanwang.enterprise",
    "quanwang.performance",
    "quanwang.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "quanwang.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "quanwang.core.middleware.SessionLifetimeMiddleware",
    "quanwang.core.middleware.ActiveScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "quanwang.urls"
WSGI_APPLICATION = "quanwang.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "quanwang.web.context_processors.console",
                "quanwang.core.context_processors.job_worker",
            ],
        },
    },
]

DATABASES = {"default": config.database(VAR_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "login"

# Chinese first, English available.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("QUANWANG_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The embedded default serves static files straight from the package, without collectstatic.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = config.env_flag("QUANWANG_SECURE_COOKIES", default=HARDENED)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# A refused CSRF check shows the console's styled 403 page, not Django's English one.
CSRF_FAILURE_VIEW = "quanwang.core.error_views.csrf_failure"
# A console login lasts this long from sign-in; shorter for roles that can reveal or export
# personal data (VIEW_PII/EXPORT_PII in core.permissions), set by SessionLifetimeMiddleware.
SESSION_COOKIE_AGE = config.env_int("QUANWANG_SESSION_HOURS", default=12) * 3600
QUANWANG_PII_SESSION_SECONDS = config.env_int("QUANWANG_PII_SESSION_HOURS", default=4) * 3600

# Five failures lock a username+address pair for a cool-off, never for ever.
AXES_FAILURE_LIMIT = int(os.environ.get("QUANWANG_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("QUANWANG_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

TASKS = {
    "default": {
        "BACKEND": os.environ.get("QUANWANG_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
# A running job holds a lease its process renews; one not renewed for this long is marked
# interrupted (its process died) and can be retried. A worker not heard of for this long is
# dead for the console's "no worker" banner.
QUANWANG_JOB_LEASE_SECONDS = float(os.environ.get("QUANWANG_JOB_LEASE_SECONDS", "60"))
# How often workers write their heartbeat and renew their job's lease (at most a third of
# the lease, so two missed beats never lapse it).
QUANWANG_WORKER_HEARTBEAT_SECONDS = float(os.environ.get("QUANWANG_WORKER_HEARTBEAT_SECONDS", "5"))

# The CJK font file the PDF statements and reports and the PNG boards embed (empty: Debian's
# fonts-wqy-microhei, then any CJK font fontconfig knows for the PDFs).
QUANWANG_PDF_FONT = os.environ.get("QUANWANG_PDF_FONT", "")

QUANWANG_IMPORT_MEMORY = os.environ.get("QUANWANG_IMPORT_MEMORY", "1.25GB")
# Days an uploaded import file is kept after upload (fractions allowed); 0: deleted as soon as
# its job ends. Uploads hold subscribers' numbers (core.uploads).
QUANWANG_UPLOAD_RETENTION_DAYS = max(
    0.0, float(os.environ.get("QUANWANG_UPLOAD_RETENTION_DAYS", "0"))
)
QUANWANG_PIPELINE_MEMORY = os.environ.get("QUANWANG_PIPELINE_MEMORY", "4GB")
# Threads LightGBM trains and scores with (the pipeline is sized for 2 cores).
QUANWANG_MODEL_THREADS = int(os.environ.get("QUANWANG_MODEL_THREADS", "2"))
# Channel gateways per deployment, as JSON (docs/campaigns-dispatch.md); none by default.
QUANWANG_CHANNELS = json.loads(os.environ.get("QUANWANG_CHANNELS", "{}"))
# Demo mode (campaigns.sandbox.mode): channels left out of QUANWANG_CHANNELS go to the demo's
# sandbox gateways on loopback. Unset or "auto": on while var/ holds the demo operator; 1/0.
QUANWANG_DEMO = (
    None
    if os.environ.get("QUANWANG_DEMO", "").strip().lower() in {"", "auto"}
    else config.env_flag("QUANWANG_DEMO")
)
QUANWANG_SANDBOX_PORT = config.env_int("QUANWANG_SANDBOX_PORT", default=8025)
# SMS replies that opt out (退订), as a JSON list; TD and 退订 always count (campaigns.opt_out).
QUANWANG_OPT_OUT_WORDS = json.loads(
    os.environ.get("QUANWANG_OPT_OUT_WORDS")
    or '["TD", "T", "N", "R", "退订", "退", "取消", "不要再发", "拒收"]'
)
# Early warning (预警) thresholds as JSON, e.g. {"from_elapsed": 0.5, "below_pace": 0.6}; keys
# left out keep those defaults. Checked where read (campaigns.services.warning_thresholds).
QUANWANG_EARLY_WARNING = json.loads(os.environ.get("QUANWANG_EARLY_WARNING", "{}"))
# Versions of each warehouse table kept on disk, the current one included (at least 1).
QUANWANG_WAREHOUSE_KEEP = max(1, int(os.environ.get("QUANWANG_WAREHOUSE_KEEP", "3")))
QUANWANG_API_TOKEN_DAYS = int(os.environ.get("QUANWANG_API_TOKEN_DAYS", "90"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("QUANWANG_LOG_LEVEL", "WARNING")},
}
