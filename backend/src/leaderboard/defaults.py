"""Every tunable constant, named, with what it is. `config.py` reads overrides from the environment."""

# --- HTTP / API ---
MAX_CONTENT_LENGTH = 1 * 1024 * 1024  # largest request body accepted, bytes; also the largest `trades` field of a
# trade stream entry (it carries a POST /v1/trades batch): a longer one is dead-lettered undecoded (ingest/consumer.py)
MAX_REQUEST_LINE = 4094  # longest request line ("GET /path?query HTTP/1.1"), bytes -> 414 (gunicorn's default)
API_TITLE = "Leaderboard API"

# --- Serving (granian by default, or gunicorn) ---
BIND = "127.0.0.1:8000"  # address the API listens on
WEB_INTERFACE = "asgi"  # asgi: the live router (streams natively, the rest through a2wsgi); wsgi: Flask alone
WEB_SERVER = "granian"  # HTTP server of `leaderboard serve`: granian or gunicorn (bench/PROFILE.md)
WEB_WORKERS = 2  # worker processes (one per core on the reference machine)
WEB_BLOCKING_THREADS = 1  # granian: Python threads per worker (1 gave the best p99, shared/CEILINGS.md)
WEB_SWITCH_INTERVAL_MS = 1.0  # GIL switch interval of every worker (Python: 5): best p99 of 0.2-5 (bench/PROFILE.md)
WEB_WORKER_CLASS = "gthread"  # gunicorn worker class
WEB_THREADS = 4  # threads per gthread worker (gunicorn)
WEB_TIMEOUT = 30  # seconds a request may take before gunicorn restarts the worker (gunicorn only)
WEB_GRACEFUL_TIMEOUT = 30  # seconds workers get to finish (and flush) after SIGTERM

# --- Redis ---
REDIS_SOCKET_TIMEOUT = 2.0  # seconds a Redis call may take before it fails
REDIS_HEALTH_TIMEOUT = 0.5  # seconds /ready waits for a PING
EMBEDDED_REDIS_PORT = 6390  # the embedded redis-server's port (a free one when it is taken)
EMBEDDED_REDIS_START_TIMEOUT = 10.0  # seconds to wait for the embedded redis-server to answer

# --- Auth ---
ACCESS_TOKEN_MINUTES = 15  # lifetime of an access token
REFRESH_TOKEN_DAYS = 7  # lifetime of a refresh token (rotated on every use)
PASSWORD_MIN_LENGTH = 8  # shortest accepted password
PASSWORD_MAX_LENGTH = 256  # longest accepted password (bounds hashing cost)
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$"  # 3-32 chars, starts alphanumeric
DISPLAY_NAME_MAX_LENGTH = 64  # longest display name
# a display name: no control, zero-width, bidi-override or line/paragraph separator characters, and not only
# spaces (the same pattern is declared in the OpenAPI document, so spec and behaviour agree)
_NAME_BANNED = "\\x00-\\x1f\\x7f-\\x9f\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff"
DISPLAY_NAME_PATTERN = f"^[^{_NAME_BANNED}]*[^ {_NAME_BANNED}][^{_NAME_BANNED}]*$"
LOGIN_RATE_LIMIT = "5 per minute"  # failed logins per username
LOGIN_ADDRESS_RATE_LIMIT = "30 per minute"  # failed logins per client address
LOGIN_SUCCESS_RATE_LIMIT = "10 per minute"  # successful logins per username (each costs a password hash)
LOGIN_SUCCESS_ADDRESS_RATE_LIMIT = "60 per minute"  # successful logins per client address
PASSWORD_HASH_CONCURRENCY = 1  # password hashes (login, register) running at once per process
PASSWORD_HASH_WAIT_MS = 1000  # longest a login/registration waits for a hashing slot before a 503
REGISTER_RATE_LIMIT = "20 per hour"  # registrations per client address
WRITE_RATE_LIMIT = "100 per second"  # write requests per account (token subject), shared by all write endpoints
WRITE_RATE_LIMIT_EXEMPT_ROLES = ("service",)  # roles the write limit skips (venue back-ends, the producer)
REVOCATION_CACHE_SECONDS = 2.0  # how long a worker may trust "token not revoked" (revocation bound)
NATIVE_TRADES_BODY_MAX_BYTES = 4096  # larger trade POST bodies go to the Flask view (its thread), not the ASGI
# loop: validating ~35 trades takes ~1 ms there, and the loop serves the live streams too (api/native_trades.py)
NATIVE_READS_BATCH_MAX = 64  # member reads waiting on the ASGI loop computed together in one pool call (one
# pipeline of their scripts, api/native_reads.py); more wait for the next batch
TOKEN_CACHE_MAX_ENTRIES = 10_000  # verified access tokens a worker remembers, so a signature is checked once

# --- Write path ---
MAX_BATCH = 1000  # trades per request
BUFFER_MAX_TRADES = 5000  # flush when the buffer holds this many writes
BUFFER_MAX_AGE_MS = 200  # flush when the oldest buffered write is this old
BUFFER_MAX_PENDING = 200_000  # writes held while Redis is down before the API answers 503
WAL_FSYNC = "interval"  # "always" (fsync before ack, group commit) or "interval"
WAL_FSYNC_INTERVAL_MS = 1000  # fsync period under the "interval" policy
DEDUPE_WINDOW_SECONDS = 24 * 3600  # how long a trade_id / action_id is remembered
REQUEST_REDIS_TIMEOUT_MS = 100  # longest a request waits on Redis where it has a fallback (revocation, trade id claim)
REQUEST_REDIS_RETRY_SECONDS = 5.0  # after such a call timed out or failed, requests take the fallback this long
RATELIMIT_REDIS_TIMEOUT_MS = 500  # longest a rate-limit check waits on Redis; then the process limits in memory
MAX_FUTURE_SKEW_SECONDS = 5  # writes dated further in the future are rejected
ACTION_TTL_SECONDS = 600  # how long an action may wait for its score
MAX_SCORE = 10**12  # largest single score accepted (points)
RETRY_AFTER_SECONDS = 5  # Retry-After sent with 503 when the buffer is full
MAX_TRADE_NOTIONAL = 10**13  # largest notional of one trade, minor units (cents): $100bn, far below 2^53
MIN_TRADE_NOTIONAL = 1  # smallest notional of one trade, minor units (cents): a trade that rounds to 0.00 is refused
MAX_TRADE_QUANTITY = 10**12  # largest quantity of one trade
MAX_TRADE_PRICE = 10**12  # largest price of one trade
MIN_EVENT_TS_MS = 946_684_800_000  # earliest event time accepted (2000-01-01): catches seconds sent as ms
APPLY_CHUNK_WRITES = 500  # writes per board per transaction (EXEC blocks Redis: keep it to hundreds)
WAL_SEGMENT_MAX_BYTES = 64 * 1024 * 1024  # a WAL segment is sealed and a new one started past this size
REDIS_DURABILITY_GRACE_MS = 2000  # applied WAL segments are kept this long when Redis cannot confirm an fsync
WAL_CLAIM_INTERVAL_SECONDS = 5.0  # how often a process looks for WAL segments of dead processes
FLUSH_RETRY_MAX_SECONDS = 5.0  # longest back-off between flush attempts while Redis is unreachable
ACTION_EXPIRED_GRACE_SECONDS = 3600  # an expired action is kept this long to answer 410 rather than 404
CONSUMER_GROUP = "leaderboard"  # consumer group of `leaderboard consume` on the trade stream
CONSUMER_COUNT = 1000  # stream entries read per XREADGROUP
CONSUMER_BLOCK_MS = 1000  # how long one XREADGROUP waits for entries
CONSUMER_CLAIM_IDLE_MS = 30_000  # pending entries idle this long belong to a dead consumer and are claimed
# a consumer process (stream or Kafka) collects its youngest garbage generation every this many allocations, not
# Python's 700, with everything allocated while it started frozen out of the collector (ingest/consumer.settle_gc):
# it allocates ~15 short-lived tuples per trade, and the collections were ~30 % of its CPU (bench/PROFILE.md)
CONSUMER_GC_THRESHOLD = 50_000

# --- Kafka source (`leaderboard consume --source kafka`, `rebuild --source kafka`, `produce --target kafka`) ---
KAFKA_TOPIC = "trades"  # topic of trade messages (a POST /v1/trades body each), keyed by trader id
KAFKA_GROUP_ID = "leaderboard"  # consumer group of `leaderboard consume --source kafka`
KAFKA_DEAD_LETTER_SUFFIX = ".dead"  # KAFKA_DEAD_LETTER_TOPIC defaults to KAFKA_TOPIC + this
KAFKA_BATCH_MESSAGES = 1000  # messages taken per poll, applied together, then their offsets committed
KAFKA_POLL_TIMEOUT_MS = 500  # longest wait of one poll for messages
KAFKA_MAX_MESSAGE_BYTES = 1024 * 1024  # a larger message is dead-lettered unread (bound on what is decoded)
KAFKA_SESSION_TIMEOUT_MS = 10_000  # a consumer silent this long is dropped from the group (kill -9 detection)
KAFKA_MAX_POLL_INTERVAL_MS = 300_000  # a consumer that does not poll this long (Redis down) leaves the group
KAFKA_TOPIC_PARTITIONS = 6  # partitions of a topic the service creates when it is missing (scale-out unit)
KAFKA_LAG_INTERVAL_SECONDS = 1.0  # how often the consumer refreshes its per-partition lag gauge
KAFKA_DELIVERY_TIMEOUT_SECONDS = 30.0  # how long a dead-letter or producer flush waits for the broker
KAFKA_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")  # accepted security.protocol values
KAFKA_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")  # accepted sasl.mechanism values

# --- Read path ---
REFRESH_SECONDS = 60  # snapshot refresh period of the read cache
SNAPSHOT_TOP_N = 1000  # members kept in each top-N snapshot
MAX_LIMIT = 100  # largest page size of a list request
DEFAULT_LIMIT = 10  # page size when none is asked
HISTORY_DAYS = 30  # days an archived day board stays readable
MEMBER_CACHE_SECONDS = 1.0  # micro-cache of member views per worker
MAX_MEMBER_IDS = 100  # ids in one GET .../members?ids= request
MAX_CURSOR_OFFSET = 10_000_000  # deepest row a page cursor may point at (history pages read live, unbounded)
MAX_CURSOR_AS_OF_MS = 253_402_300_799_999  # latest snapshot time a cursor may carry (9999-12-31): a datetime
CURSOR_TTL_SECONDS = 600  # a list cursor follows its board across newer snapshots for this long, then 410
MAX_CURSOR_SCORE = 2**63  # largest |score| a cursor's position may carry (minor units)
MEMBER_CACHE_MAX_ENTRIES = 10_000  # member views a worker keeps before it drops its micro-cache
RENDERED_PAGES_MAX_ENTRIES = 1000  # first pages of top lists a worker keeps rendered (JSON bytes) per snapshot
SNAPSHOT_GRACE_SECONDS = 2  # a worker keeps a snapshot this long past its next refresh (scheduler's work time)
SNAPSHOT_RECHECK_SECONDS = 1  # shortest time a worker keeps a snapshot copy before asking Redis again
SNAPSHOT_MAX_AGE_REFRESHES = 3  # a stored snapshot older than this many refreshes is rebuilt live
READ_RETRY_AFTER_SECONDS = 5  # Retry-After on a list when Redis is down and no copy is cached
JOB_LOCK_SECONDS = 120  # a job's Redis lock expires after this even if its holder died
JOB_RUNS_KEPT = 100  # recent runs kept per job in keys.job_runs
ROLLOVER_DELAY_SECONDS = 5  # the midnight rollover runs this long after 00:00 UTC
SCHEDULER_STOP_TIMEOUT = 60  # seconds the scheduler waits for its current job after SIGTERM

# --- Live tier (ticker + Server-Sent Events) ---
LIVE_TICK_MS = 500  # the live ticker recomputes changed board periods at most this often; 0 = no ticker
LIVE_TOP_N = 100  # rows of the top list the stream carries (snapshot event and updates)
LIVE_HISTORY = 1000  # update events kept per board period for Last-Event-ID resume (XADD MAXLEN ~)
LIVE_MAX_SUBSCRIBERS = 5000  # open streams per server process; past it 503 + Retry-After
LIVE_MAX_SUBSCRIBERS_PER_ADDRESS = 50  # open streams per client address per process; past it 429 + Retry-After
LIVE_MAX_STREAM_SECONDS = 3600  # total lifetime of one stream; then it ends and the client reconnects
LIVE_HEARTBEAT_SECONDS = 15  # a comment line this often keeps proxies from closing an idle stream
LIVE_SEND_TIMEOUT_SECONDS = 10  # a client that takes no bytes for this long is dropped (slow client)
LIVE_QUEUE_EVENTS = 64  # events queued for one client before it counts as too slow and is dropped
LIVE_RETRY_MS = 2000  # `retry:` advice: how long a client waits before reconnecting
LIVE_SNAPSHOT_REUSE_SECONDS = 1.0  # a stream's opening snapshot event is reused this long (same newest event)
LIVE_RETRY_AFTER_SECONDS = 5  # Retry-After on 429/503 from the stream endpoint
LIVE_TICK_LOCK_MS = 5000  # the ticker's lock expires after this if its holder died mid-tick

# --- Operations ---
METRICS_BIND = ""  # host:port where `leaderboard scheduler` / `consume` serve /metrics; "" = not served

# --- Scores ---
MAX_SAFE_SCORE = 2**53  # sorted-set scores are doubles: exact only below this (minor units)

# --- Mock producer ---
PRODUCER_RATE = 3.0  # trades/s of `leaderboard produce` when --rate is not given (gentle demo rate)
PRODUCER_BATCH_SIZE = 100  # trades per request / stream entry at most
PRODUCER_TRADERS = 100  # distinct traders (the trading seed's count)
PRODUCER_STREAM_MAXLEN = 100_000  # approximate cap on the trade stream's entries (XADD MAXLEN ~)
PRODUCER_MAX_ATTEMPTS = 10  # attempts per batch (429/503/connection errors) before the run fails
PRODUCER_MAX_REJECTED_BATCHES = 10  # rejected batches in a row before the run fails
PRODUCER_READY_TIMEOUT = 60.0  # seconds `--demo` waits for the API's /ready
PRODUCER_DEMO_RETRY_SECONDS = 30.0  # under `--demo`, wait after a persistent error, then start again
RUN_DEMO_REFRESH_MEMBERS = 5  # traders on the all-volume board before `leaderboard run`'s one early refresh
RUN_ANNOUNCE_WAIT_SECONDS = 15.0  # after /ready, how long `run` waits for demo trades before printing the URLs
DEMO_SCORE_PLAYERS = 30  # demo traders the demo producer posts a game score for when it starts
DEMO_BACKFILL_DAYS = 3  # past days the demo producer fills with dated trades (History has archives at once)
DEMO_BACKFILL_TRADES_PER_DAY = 300  # trades on each of those days
RUN_STATUS_SECONDS = 10.0  # `run` updates its status line (trades/s, boards, subscribers) this often
RUN_LOG_MAX_BYTES = 50 * 1024 * 1024  # `run`'s log file (DATA_DIR/logs/leaderboard.log) rotates past this size
RUN_LOG_BACKUPS = 3  # rotated log files `run` keeps

# --- Competitions ---
COMPETITION_START_SKEW_SECONDS = 10  # how far before its creation a competition's starts_at may lie (clock skew)
FINALIZE_GRACE_SECONDS = 300  # after a competition's end, writes dated inside it still count this long; then final
COMPETITION_CACHE_SECONDS = 2.0  # how long a process trusts its copy of the competitions registry
COMPETITION_JOB_SECONDS = 5  # the scheduler's finalize-and-deliver-webhooks tick
TIES_RESOLUTION_MS = 1000  # first_reached ties: reach times are compared in steps of this many ms
MAX_COMPETITION_DAYS = 92  # longest window [starts_at, ends_at) a competition may have
MAX_BOARD_DISQUALIFIED = 100  # disqualified members per board: every read looks each one up (O(d log n) per read)
MAX_PRIZE_TIERS = 20  # prize tiers per competition
MAX_TEAM_SIZE = 50  # members per team at most (team_size)
WEBHOOK_SECRET = ""  # HMAC-SHA256 key signing result webhooks; a competition with webhook_url needs it
WEBHOOK_TIMEOUT_SECONDS = 5.0  # one webhook delivery attempt in all: resolve, connect, TLS, send, status + headers
WEBHOOK_POLL_SECONDS = 1.0  # how often the scheduler's webhook thread looks for due deliveries
WEBHOOK_ALLOW_PRIVATE = False  # deliver to loopback/private/link-local/... addresses (DEV_MODE allows them too)
WEBHOOK_URL_MAX_LENGTH = 2048  # longest webhook_url a competition may have
WEBHOOK_CLAIM_MARGIN_SECONDS = 5.0  # a sender's claim on an attempt lasts WEBHOOK_TIMEOUT_SECONDS + this
WEBHOOK_BATCH = 100  # due deliveries one pass of the webhook thread takes at most
WEBHOOK_RETRY_BASE_SECONDS = 2.0  # first retry delay of an unacknowledged webhook; doubles each attempt
WEBHOOK_RETRY_MAX_SECONDS = 600.0  # longest delay between two webhook attempts
PRODUCER_COMPETITION_MINUTES = 120  # length of the demo competition `leaderboard produce --competition` creates
RUN_DEMO_COMPETITION = "demo-cup"  # the live competition `leaderboard run` has the demo producer feed
