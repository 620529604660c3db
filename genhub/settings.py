"""GenHub settings. Every value comes from the environment, read here and nowhere else.

The defaults make `make run` work on a fresh machine: SQLite under var/, Redis on
localhost, models under var/models, CPU or CUDA picked at run time.
`.env.example` lists every variable.
"""

import hashlib
import hmac
import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")


def _owner_only(path: Path) -> None:
    """Create `path` empty if it is missing; only its owner may read or write it."""
    # The mode is given at creation, so the file is never readable by others, not
    # even until a chmod; a file from an older install is tightened.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def _default_secret_key() -> str:
    # A fresh install gets a random key that survives restarts, kept out of git.
    # Whoever can read it can forge a session cookie for any user.
    path = VAR_DIR / "secret_key"
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _owner_only(path)
    if not path.read_text().strip():
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _default_secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Origins (scheme://host[:port]) besides GenHub's own whose pages may open a
# WebSocket with the session cookie; a page from another port is another origin.
GENHUB_ALLOWED_ORIGINS = env.list("GENHUB_ALLOWED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "ninja",
    "axes",
    "django_prometheus",
    "genhub.apps.GenhubConfig",
    "textgen.apps.TextgenConfig",
    "imagegen.apps.ImagegenConfig",
    "audiogen.apps.AudiogenConfig",
]

MIDDLEWARE = [
    # First: probes reach a pod by its IP, which ALLOWED_HOSTS does not list, and
    # need no session or auth (genhub/health.py).
    "genhub.health.HealthMiddleware",
    # Scrapes, like probes, reach a pod by its IP (genhub/metrics/exposition.py);
    # neither is counted in the request metrics that start below.
    "genhub.metrics.exposition.MetricsMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "genhub.log_context.RequestScopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "genhub.web.security_headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A view that finds the database or Redis away answers 503 with Retry-After, not 500.
    "genhub.outages.OutageMiddleware",
    # Last of the request metrics' pair, but before axes, which asks to be last.
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as axes asks: it turns a login refused for a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "genhub.urls"
ASGI_APPLICATION = "genhub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "genhub.web.navigation.nav",
                "genhub.web.theme.theme",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'genhub.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process and a worker write at once; IMMEDIATE transactions
    # take the write lock up front instead of failing with "database is locked"
    # when a read transaction tries to upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # Tests run a real worker in another process, so the test database is a file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-genhub.sqlite3")}
    # Kept open by the thread that opened it (the web process's threads serve
    # request after request, genhub/asgi_http.py): opening one costs more than
    # a status read's queries.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("GENHUB_DB_CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # It holds password hashes and everyone's prompts. SQLite gives its -wal and
    # -shm files the database file's mode.
    if DATABASES["default"]["NAME"] != ":memory:":
        _owner_only(Path(DATABASES["default"]["NAME"]))
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "GENHUB_DB_POOL", default=False
):
    # The web process: under ASGI each request runs in a thread of its own, and a
    # connection belongs to its thread, so without a pool every request opened a
    # new PostgreSQL connection (a backend process forked, auth, setup: more
    # than the request's own queries). The launchers of the web process set
    # GENHUB_DB_POOL=1 (manage.py serve, the Dockerfile, Compose, Kubernetes);
    # Celery workers must not, since a prefork child would inherit its parent's
    # pooled sockets. Checked on checkout, so a connection PostgreSQL dropped
    # (a restart, a failover) is replaced instead of failing a request.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env.int("GENHUB_DB_POOL_MAX_SIZE", default=16),
        # Seconds a request waits for a connection. Short, because while the
        # database is away every request waits this long before its 503.
        "timeout": env.float("GENHUB_DB_POOL_TIMEOUT", default=3.0),
        # A failed connection is retried with doubling delays; after this many
        # seconds the pool gives up and the next request tries at once, so the
        # service comes back within seconds of the database, not minutes.
        "reconnect_timeout": 10,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's own list unless told otherwise. The test suite names a fast hasher
# (tests/environment.py): a proper hash takes a third of a second by design, and
# the suite makes hundreds of users.
PASSWORD_HASHERS = env.list(
    "GENHUB_PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ],
)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# --- Login throttling (django-axes, genhub/web/login_throttle.py) -------------
# After this many wrong passwords for one account from one address, that pair is
# refused for GENHUB_LOGIN_LOCKOUT_MINUTES. Counting the pair, not the account
# alone, keeps a stranger from locking a user out; API keys are not counted.
GENHUB_LOGIN_FAILURE_LIMIT = env.int("GENHUB_LOGIN_FAILURE_LIMIT", default=5)
GENHUB_LOGIN_LOCKOUT_MINUTES = env.int("GENHUB_LOGIN_LOCKOUT_MINUTES", default=15)
AUTHENTICATION_BACKENDS = [
    "genhub.web.login_throttle.LoginThrottleBackend",  # first: refuses before any password check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = GENHUB_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=GENHUB_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a good login forgets earlier typos
AXES_LOCKOUT_CALLABLE = "genhub.web.login_throttle.lockout_response"
# Each web process trusts an API key it checked for this long (genhub/key_cache.py):
# a key revoked elsewhere, or its user deactivated, is refused within it; 0 checks
# the database on every request.
GENHUB_API_KEY_CACHE_SECONDS = env.float("GENHUB_API_KEY_CACHE_SECONDS", default=5.0)
# Threads per web process for requests' sync work (genhub/asgi_http.py). A
# non-streaming OpenAI request holds one until its job ends; more requests than
# threads wait in line for one.
GENHUB_HTTP_THREADS = env.int("GENHUB_HTTP_THREADS", default=32)

# --- HTTPS --------------------------------------------------------------------
# GENHUB_HTTPS=true: served over HTTPS by a proxy in front (nginx, Caddy) that sets
# X-Forwarded-Proto and drops any a client sent. Cookies then travel only over
# HTTPS, browsers are told to stay on HTTPS for a year (HSTS), and the proxy header
# makes request.is_secure() true, so job links are https:// and wss://.
GENHUB_HTTPS = env.bool("GENHUB_HTTPS", default=False)
if GENHUB_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # No SECURE_SSL_REDIRECT: the proxy redirects http:// itself. Django doing it too
    # would loop forever behind a proxy that forgot X-Forwarded-Proto, and would
    # redirect health checks that reach the app port directly over plain HTTP.
    SILENCED_SYSTEM_CHECKS = ["security.W008"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media ------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# --- Redis: broker, channel layer and live job state ------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# How long a connection to Redis may take before it counts as down, so that a
# request meeting an unreachable Redis answers 503 in seconds instead of hanging.
REDIS_CONNECT_TIMEOUT_SECONDS = 2.0

# The pub/sub layer: one PUBLISH per event and a push to each subscribed web
# process, where the list-based layer runs a Lua script per send and a blocking
# pop per receive. Both deliver at most once; the snapshot and `seq` recover.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    },
}

# --- Jobs and workers -------------------------------------------------------
GENHUB_JOB_SOFT_TIME_LIMIT = env.int("GENHUB_JOB_SOFT_TIME_LIMIT", default=1800)
GENHUB_JOB_TIME_LIMIT = env.int("GENHUB_JOB_TIME_LIMIT", default=GENHUB_JOB_SOFT_TIME_LIMIT + 60)
# A job whose worker died is run again this many times in all, then failed.
GENHUB_JOB_MAX_ATTEMPTS = env.int("GENHUB_JOB_MAX_ATTEMPTS", default=2)
# A running job's worker touches the row this often; a row untouched for
# GENHUB_JOB_STALE_SECONDS belongs to a dead worker.
GENHUB_JOB_HEARTBEAT_SECONDS = env.float("GENHUB_JOB_HEARTBEAT_SECONDS", default=5.0)
GENHUB_JOB_STALE_SECONDS = env.float("GENHUB_JOB_STALE_SECONDS", default=30.0)
GENHUB_SWEEP_SECONDS = env.float("GENHUB_SWEEP_SECONDS", default=10.0)
# A job still queued after this long is sent to the broker again, in case the
# broker lost its message (see jobs.resend_waiting_jobs).
GENHUB_JOB_RESEND_SECONDS = env.float("GENHUB_JOB_RESEND_SECONDS", default=900.0)
# A worker that finished a job while the database is unreachable keeps the outcome
# and tries to save it again, with backoff, for this long before it gives up.
GENHUB_JOB_SAVE_RETRY_SECONDS = env.float("GENHUB_JOB_SAVE_RETRY_SECONDS", default=600.0)
# A job-creating request with an Idempotency-Key returns the same job when repeated
# within this long (genhub/idempotency.py).
GENHUB_IDEMPOTENCY_SECONDS = env.float("GENHUB_IDEMPOTENCY_SECONDS", default=86400.0)
# A job's ETA comes from the durations of its model's last this-many succeeded jobs.
GENHUB_ETA_RECENT_RUNS = env.int("GENHUB_ETA_RECENT_RUNS", default=20)
# Each web process shares a queue's order, its model's run times and the live
# workers among the status reads of this many seconds (genhub/shared_reads.py):
# a place or an ETA shown may be this old. 0 reads them for every request.
GENHUB_QUEUE_READ_SECONDS = env.float("GENHUB_QUEUE_READ_SECONDS", default=1.0)
# Quotas (genhub/quotas.py), the defaults for users without a UsagePolicy of their
# own or their group's; 0 is no limit. Superusers have none unless a policy says so.
# Jobs a user may submit per minute, and have queued or running at once:
GENHUB_QUOTA_REQUESTS_PER_MINUTE = env.int("GENHUB_QUOTA_REQUESTS_PER_MINUTE", default=60)
GENHUB_QUOTA_MAX_QUEUED = env.int("GENHUB_QUOTA_MAX_QUEUED", default=20)
# Worker seconds per modality in any 24 hours: one number for every modality, or
# per modality with "*" for the rest, e.g. "image=600,audio=600,*=3600".
GENHUB_QUOTA_COMPUTE_SECONDS_PER_DAY = env.str("GENHUB_QUOTA_COMPUTE_SECONDS_PER_DAY", default="0")
# Each process that runs jobs records itself this often (genhub/worker/reporting.py);
# one not seen for GENHUB_WORKER_GONE_SECONDS is shown as gone.
GENHUB_WORKER_HEARTBEAT_SECONDS = env.float("GENHUB_WORKER_HEARTBEAT_SECONDS", default=5.0)
GENHUB_WORKER_GONE_SECONDS = env.float("GENHUB_WORKER_GONE_SECONDS", default=30.0)
# Prometheus metrics (docs/deploy.md, "Metrics"). A token, when set, is asked of
# every scrape (Authorization: Bearer); empty leaves /metrics open, as usual
# inside a cluster. PROMETHEUS_MULTIPROC_DIR (prometheus-client's own variable) is
# where the processes of a pool write their values for one endpoint to sum.
GENHUB_METRICS_TOKEN = env.str("GENHUB_METRICS_TOKEN", default="")
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
# A worker's own metrics endpoint (genhub/worker/metrics_server.py); 0 is none.
GENHUB_WORKER_METRICS_PORT = env.int("GENHUB_WORKER_METRICS_PORT", default=0)
GENHUB_WORKER_METRICS_ADDRESS = env.str("GENHUB_WORKER_METRICS_ADDRESS", default="0.0.0.0")
# Webhooks (docs/jobs.md, "Webhooks"). The base of the absolute links in a webhook's
# body (e.g. https://genhub.example.com); without it they are relative paths.
GENHUB_PUBLIC_URL = env.str("GENHUB_PUBLIC_URL", default="").rstrip("/")
# The HMAC key receivers verify X-GenHub-Signature with. By default derived from
# SECRET_KEY with a fixed salt, so webhooks are signed out of the box and rotating
# SECRET_KEY rotates it; set it to share a key that does not reveal SECRET_KEY's.
GENHUB_WEBHOOK_SECRET = (
    env.str("GENHUB_WEBHOOK_SECRET", default="")
    or hmac.new(SECRET_KEY.encode(), b"genhub.webhooks.v1", hashlib.sha256).hexdigest()
)
# Callback URLs on private, loopback or link-local addresses are refused unless
# this is true: otherwise any user could make GenHub POST into its own network.
GENHUB_WEBHOOK_ALLOW_PRIVATE = env.bool("GENHUB_WEBHOOK_ALLOW_PRIVATE", default=False)
# A job is refused (503) when no live worker serves its queue, unless this is true:
# deployments that start workers only when jobs wait (scaled from zero) need it.
GENHUB_ACCEPT_WITHOUT_WORKERS = env.bool("GENHUB_ACCEPT_WITHOUT_WORKERS", default=False)
# Text that arrives within this window after an event waits for the next one; the
# first text of a job goes out at once. Each event costs a few ms of CPU across the
# worker, Redis, the web process and the client, which on a CPU-only machine comes
# out of generation: at 30 ms a CPU SmolLM2 sent every token alone and ran at 0.93x
# raw, at 100 ms 0.95x (docs/benchmarks.md). Ten updates a second still reads as
# smooth streaming.
GENHUB_TOKEN_COALESCE_MS = env.float("GENHUB_TOKEN_COALESCE_MS", default=100.0)
GENHUB_MAX_PROMPT_CHARS = env.int("GENHUB_MAX_PROMPT_CHARS", default=32000)

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = GENHUB_JOB_SOFT_TIME_LIMIT
CELERY_TASK_TIME_LIMIT = GENHUB_JOB_TIME_LIMIT
CELERY_TASK_IGNORE_RESULT = True  # results live on the Job row
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis hands an unacknowledged message to another worker after this long; it
# must outlast the longest job or a slow job would be delivered twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": GENHUB_JOB_TIME_LIMIT + 600,
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_SECONDS,
}
# Sending a job id: three quick tries (the first send after a Redis restart meets a
# dead pooled connection), then the job fails and the request answers 503.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# A running job keeps running when the worker loses Redis: its state lives in the
# database, and a second delivery of its message finds it claimed.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Pool processes import torch and the runners before taking work (genhub/worker/warmup.py);
# Celery's default 4 s to report ready would kill them on a slow disk.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 120

# --- Images and uploads -------------------------------------------------------
# Pixels per generated image (width × height); 1536×1536 by default, above SDXL's
# native 1024×1024. A model's options can lower it with max_width / max_height.
GENHUB_IMAGE_MAX_PIXELS = env.int("GENHUB_IMAGE_MAX_PIXELS", default=1536 * 1536)
# An init image may be larger than what is generated (it is resized), not huge.
GENHUB_IMAGE_MAX_INPUT_PIXELS = env.int("GENHUB_IMAGE_MAX_INPUT_PIXELS", default=4096 * 4096)
# A live preview every this many denoising steps (a small JPEG decoded from the latents).
GENHUB_IMAGE_PREVIEW_EVERY = env.int("GENHUB_IMAGE_PREVIEW_EVERY", default=5)
# A melody clip longer than this is refused (MusicGen uses the first 30 s or so).
GENHUB_AUDIO_MAX_MELODY_SECONDS = env.float("GENHUB_AUDIO_MAX_MELODY_SECONDS", default=60.0)
GENHUB_MAX_UPLOAD_BYTES = env.int("GENHUB_MAX_UPLOAD_BYTES", default=20 * 2**20)
# The largest request body accepted, checked before any of it is buffered (see
# genhub/body_limit.py). By default just above the largest allowed upload sent
# as base64 in JSON (4/3 of its size), with room for the other fields.
GENHUB_MAX_REQUEST_BYTES = env.int(
    "GENHUB_MAX_REQUEST_BYTES", default=GENHUB_MAX_UPLOAD_BYTES * 4 // 3 + 2**20
)
DATA_UPLOAD_MAX_MEMORY_SIZE = GENHUB_MAX_REQUEST_BYTES

# --- Models -----------------------------------------------------------------
GENHUB_DEVICE = env.str("GENHUB_DEVICE", default="auto")  # auto | cpu | cuda
GENHUB_MODEL_DIR = Path(env.str("GENHUB_MODEL_DIR", default=str(VAR_DIR / "models")))
# Memory each job-running worker process's model cache may hold, in GiB. 0: a
# GENHUB_MODEL_CACHE_FRACTION of the device (GPU memory, or RAM on a CPU), divided
# among the worker's pool processes. Workers started separately on one GPU each
# need GENHUB_MODEL_CACHE_GB (docs/models.md, "Memory budgets").
GENHUB_MODEL_CACHE_GB = env.float("GENHUB_MODEL_CACHE_GB", default=0.0)
GENHUB_MODEL_CACHE_FRACTION = env.float("GENHUB_MODEL_CACHE_FRACTION", default=0.8)
# A model no job has used for this long is unloaded (pinned ones stay); 0 = never.
GENHUB_MODEL_IDLE_MINUTES = env.float("GENHUB_MODEL_IDLE_MINUTES", default=30.0)

# --- Logs -------------------------------------------------------------------
# text: readable lines; json: one JSON object per line for a log collector. Either
# way a line written while a job is handled carries its id (genhub/log_context.py).
GENHUB_LOG_FORMAT = env.str("GENHUB_LOG_FORMAT", default="text")
if GENHUB_LOG_FORMAT not in ("text", "json"):
    raise environ.ImproperlyConfigured(
        f"GENHUB_LOG_FORMAT must be text or json, not {GENHUB_LOG_FORMAT!r}."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"job_id": {"()": "genhub.log_context.JobIdFilter"}},
    "formatters": {
        "text": {"()": "genhub.log_format.TextFormatter"},
        "json": {"()": "genhub.log_format.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": GENHUB_LOG_FORMAT,
            "filters": ["job_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
