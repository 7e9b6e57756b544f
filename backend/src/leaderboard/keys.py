"""Every Redis key name of the service, in one place: the only module that spells a key.

Cluster-ready: every key of one board carries the hash tag ``{board}``, so all of a board's keys live in
one slot and a transaction or script over one board is legal on Redis Cluster. Keys that are not about a
board (users, auth, boards registry) use their own tags and are only ever touched one slot at a time.
"""

from __future__ import annotations

from datetime import date, datetime

PREFIX = "lb"


def board_tag(board: str) -> str:
    return f"{{{board}}}"


def _board_key(board: str, *parts: str) -> str:
    return ":".join((PREFIX, board_tag(board), *parts))


# --- per-board sorted sets (members are user/trader ids, scores are integer minor units) ---
def all_time(board: str) -> str:
    return _board_key(board, "all")


def day(board: str, day_bucket: date) -> str:
    """The UTC calendar day's board; kept HISTORY_DAYS after the day ends, so it is also the archive."""
    return _board_key(board, "day", day_bucket.strftime("%Y%m%d"))


def hour(board: str, hour_start: datetime) -> str:
    """One UTC hour's bucket, the unit the rolling 24h/3d/7d windows are summed from."""
    return _board_key(board, "hour", hour_start.strftime("%Y%m%d%H"))


def window(board: str, period: str) -> str:
    """A rolling window (24h/3d/7d) materialized from its hour buckets at each snapshot refresh."""
    return _board_key(board, "win", period)


def window_scratch(board: str, period: str) -> str:
    """Where a window is rebuilt before it replaces `window` (same slot: RENAME is legal in a cluster)."""
    return _board_key(board, "win", period, "tmp")


# --- per-board bookkeeping ---
def seen(board: str, write_id: str) -> str:
    """Exactly-once marker of one write (trade id or action id) applied to this board."""
    return _board_key(board, "seen", write_id)


def snapshot(board: str, period: str) -> str:
    """The JSON top-N snapshot the API serves lists from."""
    return _board_key(board, "snap", period)


def disqualified(board: str) -> str:
    """Hash member -> disqualification JSON {reason, by, at}: left out of every read of the board (its scores
    stay in place, so a reinstatement restores them exactly)."""
    return _board_key(board, "dq")


def tie_order(key: str) -> str:
    """A `ties: first_reached` board's order of one of its sorted sets (all-time, day, hour, window): a zset
    with the same scores whose members are `<reach prefix>:<member>` (ranking/ties.py), so Redis's order of
    equal scores (member bytes, descending) is "reached first". Same {board} slot as `key`."""
    return f"{key}:ord"


def tie_reach(key: str) -> str:
    """Hash member -> reach time (epoch ms) of a first_reached board's sorted set `key` (ranking/ties.py)."""
    return f"{key}:reach"


def disqualified_of(key: str) -> str:
    """The `disqualified` hash of the board whose key (any period, archive or rebuild key) this is."""
    return key[: key.index("}") + 1] + ":dq"


def board_audit(board: str) -> str:
    """List of the board's moderation entries (JSON: action, member, reason, by, at), oldest first."""
    return _board_key(board, "audit")


def live_changes(board: str) -> str:
    """Hash kind -> counter: the apply script adds 1 to `all`, `day` or `hour` for every sorted set of the board
    it changed, in the same atomic step as the increments (the live ticker's change mark)."""
    return _board_key(board, "live", "changes")


def live_done(board: str) -> str:
    """Hash kind -> the `live_changes` counter the live ticker has published up to."""
    return _board_key(board, "live", "done")


def live_top(board: str, period: str) -> str:
    """The top LIVE_TOP_N the live ticker last published for the board period (what its next diff starts from)."""
    return _board_key(board, "live", "top", period)


def live_events(board: str, period: str) -> str:
    """Capped stream of the board period's live `update` events (their ids are the SSE event ids)."""
    return _board_key(board, "live", "events", period)


def history_index(board: str) -> str:
    """Sorted set of archived day buckets (member YYYY-MM-DD, score = epoch of the day)."""
    return _board_key(board, "history")


def window_stamp(board: str, period: str) -> str:
    """Hash {hour, as_of_ms}: which newest hour bucket `window` was materialized for, and when."""
    return _board_key(board, "win", period, "stamp")


# --- rebuild (`leaderboard rebuild`): a board recomputed into fresh keys beside the live ones ---
REBUILD_SPACE = "rebuild"


def rebuilding(key: str) -> str:
    """The fresh twin of one of a board's keys: `lb:{board}:all` -> `lb:{board}:rebuild:all` (same hash tag,
    so the swap of a board's keys is one same-slot script on Redis Cluster too)."""
    tag_end = key.index("}:") + 2
    return f"{key[:tag_end]}{REBUILD_SPACE}:{key[tag_end:]}"


def rebuilt_to_live(key: str) -> str:
    """Inverse of `rebuilding`."""
    tag_end = key.index("}:") + 2
    return key[:tag_end] + key[tag_end:].removeprefix(f"{REBUILD_SPACE}:")


def board_pattern(board: str, *parts: str) -> str:
    """SCAN MATCH pattern of a board's keys under `parts` (glob characters in the board id escaped)."""
    escaped = "".join(f"\\{c}" if c in "*?[]\\" else c for c in board)
    return ":".join((PREFIX, board_tag(escaped), *parts, "*"))


# --- registry and users (not board data) ---
def boards_registry() -> str:
    """Hash board id -> JSON board spec."""
    return f"{PREFIX}:boards"


def user(username: str) -> str:
    """An account, keyed by its username lower-cased: usernames are unique and found regardless of case
    (the record keeps the name as registered). Accounts from before that rule keep their exact-case key
    (auth/users.py still finds them)."""
    return f"{PREFIX}:user:{username.lower()}"


def user_exact_case(username: str) -> str:
    """The key of an account registered before usernames were case-insensitive."""
    return f"{PREFIX}:user:{username}"


def display_names() -> str:
    """Hash user id -> display name (registered users; a trader id without one shows as itself)."""
    return f"{PREFIX}:names"


def action(action_id: str) -> str:
    """A score action handed out by POST /v1/actions, with its owner and expiry."""
    return f"{PREFIX}:action:{action_id}"


_AUTH_TAG = "{auth}"


def revoked_token(jti: str) -> str:
    return f"{PREFIX}:{_AUTH_TAG}:revoked:jti:{jti}"


def revoked_session(sid: str) -> str:
    return f"{PREFIX}:{_AUTH_TAG}:revoked:sid:{sid}"


def token_generation(username: str) -> str:
    """A user's token generation (an integer, absent = 0): "log out everywhere" increments it, and a token
    carrying an older `gen` claim is revoked. Same {auth} tag as the revocation keys: one MGET reads all."""
    return f"{PREFIX}:{_AUTH_TAG}:gen:{username.lower()}"


# --- jobs ---
def job_lock(job: str) -> str:
    return f"{PREFIX}:job:{job}:lock"


def job_state(job: str) -> str:
    return f"{PREFIX}:job:{job}:state"


def job_tick(job: str, tick: str) -> str:
    """Set once a tick of a job has run, so no other scheduler runs that tick again."""
    return f"{PREFIX}:job:{job}:tick:{tick}"


def job_runs(job: str) -> str:
    """Capped list of the last runs of a job ("tick pid"), for operators and the double-run test."""
    return f"{PREFIX}:job:{job}:runs"


# --- live tier ---
LIVE_CHANNEL = f"{PREFIX}:live"  # pub/sub channel (not a key): one message per published live event


# --- trade feed (Redis Streams) ---
def trade_stream() -> str:
    """Stream of trade batches: each entry has one field `trades` = a JSON array of trade objects
    (the same shape POST /v1/trades takes)."""
    return f"{PREFIX}:{{trades}}:stream"


def kafka_consumers(group: str) -> str:
    """Sorted set of the live Kafka consumers of a group: member host-pid, score = last heartbeat (epoch ms).
    `leaderboard rebuild` refuses while one is fresh (a broker may not report group members)."""
    return f"{PREFIX}:{{kafka}}:consumers:{group}"


def trade_stream_dead() -> str:
    """Entries the consumer could not accept (invalid trades), kept for an operator to inspect."""
    return f"{PREFIX}:{{trades}}:dead"


# --- competitions: every key of one competition carries the hash tag {comp:ID} (one slot) ---
def competitions_registry() -> str:
    """Hash competition id -> JSON spec."""
    return f"{PREFIX}:competitions"


def competition(comp_id: str, part: str) -> str:
    """One of a competition's keys, all in the slot of `{comp:ID}` so every script over it is cluster-legal:
    `all` (zset: every trader's encoded score in the window), `vol` (zset: volume in minor units), `rank`
    (zset: the ranked, qualified, not disqualified participants), `members` (hash: participant -> joined ms),
    `dq` (hash: member -> disqualification JSON), `asof` (hash: member -> as_of ms of its last metric),
    `closed` (string: no write counts any more), `final` (string: the frozen results JSON), `audit` (list),
    `teams` / `team_of` / `team_codes` (hashes), `webhook` (hash: delivery state)."""
    return f"{PREFIX}:{{comp:{comp_id}}}:{part}"


def competition_seen(comp_id: str, write_id: str) -> str:
    """Exactly-once marker of one trade counted on a competition."""
    return f"{PREFIX}:{{comp:{comp_id}}}:seen:{write_id}"


def webhooks_due() -> str:
    """Zset competition id -> ms of its result webhook's next attempt (or of a sender's claim running out)."""
    return f"{PREFIX}:webhooks:due"


def deletions() -> str:
    """List of user deletions (when, by whom): the record that one happened, never whose data it was."""
    return f"{PREFIX}:deletions"
