"""Every tunable constant, named, with what it is. `config.py` reads overrides from the environment."""

# --- HTTP / API ---
MAX_CONTENT_LENGTH = 1 * 1024 * 1024  # largest request body accepted, bytes
API_TITLE = "Leaderboard API"

# --- Serving (gunicorn) ---
BIND = "127.0.0.1:8000"  # address the API listens on
WEB_WORKERS = 2  # gunicorn worker processes (one per core on the reference machine)
WEB_WORKER_CLASS = "gthread"  # gunicorn worker class
WEB_THREADS = 4  # threads per gthread worker
WEB_TIMEOUT = 30  # seconds a request may take before gunicorn restarts the worker
WEB_GRACEFUL_TIMEOUT = 30  # seconds workers get to finish (and flush) after SIGTERM

# --- Redis ---
REDIS_SOCKET_TIMEOUT = 2.0  # seconds a Redis call may take before it fails
REDIS_HEALTH_TIMEOUT = 0.5  # seconds /ready waits for a PING
EMBEDDED_REDIS_START_TIMEOUT = 10.0  # seconds to wait for the embedded redis-server to answer

# --- Auth ---
ACCESS_TOKEN_MINUTES = 15  # lifetime of an access token
REFRESH_TOKEN_DAYS = 7  # lifetime of a refresh token (rotated on every use)
PASSWORD_MIN_LENGTH = 8  # shortest accepted password
PASSWORD_MAX_LENGTH = 256  # longest accepted password (bounds hashing cost)
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$"  # 3-32 chars, starts alphanumeric
DISPLAY_NAME_MAX_LENGTH = 64  # longest display name
LOGIN_RATE_LIMIT = "5 per minute"  # failed logins per username
LOGIN_ADDRESS_RATE_LIMIT = "30 per minute"  # failed logins per client address
REGISTER_RATE_LIMIT = "20 per hour"  # registrations per client address
WRITE_RATE_LIMIT = "100 per second"  # write requests per account (token subject), shared by all write endpoints
REVOCATION_CACHE_SECONDS = 2.0  # how long a worker may trust "token not revoked" (revocation bound)

# --- Write path ---
MAX_BATCH = 1000  # trades per request
BUFFER_MAX_TRADES = 5000  # flush when the buffer holds this many writes
BUFFER_MAX_AGE_MS = 200  # flush when the oldest buffered write is this old
BUFFER_MAX_PENDING = 200_000  # writes held while Redis is down before the API answers 503
WAL_FSYNC = "interval"  # "always" (fsync before ack, group commit) or "interval"
WAL_FSYNC_INTERVAL_MS = 1000  # fsync period under the "interval" policy
DEDUPE_WINDOW_SECONDS = 24 * 3600  # how long a trade_id / action_id is remembered
MAX_FUTURE_SKEW_SECONDS = 5  # writes dated further in the future are rejected
ACTION_TTL_SECONDS = 600  # how long an action may wait for its score
MAX_SCORE = 10**12  # largest single score accepted (points)
RETRY_AFTER_SECONDS = 5  # Retry-After sent with 503 when the buffer is full

# --- Read path ---
REFRESH_SECONDS = 60  # snapshot refresh period of the read cache
SNAPSHOT_TOP_N = 1000  # members kept in each top-N snapshot
MAX_LIMIT = 100  # largest page size of a list request
DEFAULT_LIMIT = 10  # page size when none is asked
HISTORY_DAYS = 30  # days an archived day board stays readable
MEMBER_CACHE_SECONDS = 1.0  # micro-cache of member views per worker

# --- Scores ---
MAX_SAFE_SCORE = 2**53  # sorted-set scores are doubles: exact only below this (minor units)
