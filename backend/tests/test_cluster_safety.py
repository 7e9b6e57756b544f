"""No cross-slot Redis command anywhere: a static check of the source.

Every call of a multi-key command (MGET, SUNIONSTORE, ZUNIONSTORE, RENAME, EVAL/EVALSHA, scripts, EXISTS or
DEL with several keys, ...) and every transactional pipeline (MULTI/EXEC) must be listed in ALLOWLIST
below with a comment saying why its keys share one hash tag, and an example of its keys, which this test
checks land in one cluster slot. A new call site fails this test until someone proves it safe here."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from redis.crc import key_slot

from leaderboard import keys
from leaderboard.ranking import store
from leaderboard.ranking.apply import BoardWrite, build_board_batch

SOURCE = Path(__file__).resolve().parent.parent / "src" / "leaderboard"

# commands that always take several keys (or run scripts that may)
MULTI_KEY = {
    "mget", "mset", "msetnx", "sunion", "sunionstore", "sinter", "sinterstore", "sintercard", "sdiff",
    "sdiffstore", "zunion", "zunionstore", "zinter", "zinterstore", "zintercard", "zdiff", "zdiffstore",
    "zrangestore", "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro", "register_script",
    "lmpop", "blmpop", "zmpop", "bzmpop", "pfmerge", "bitop", "xread", "xreadgroup", "blmove", "brpoplpush",
}
# commands with a source and a destination key: multi-key when called with two or more arguments
TWO_KEY = {"rename", "renamenx", "copy", "smove", "lmove", "rpoplpush", "georadius_store"}
# variadic commands: multi-key when called with several keys (or *keys)
VARIADIC = {"exists", "delete", "unlink", "touch", "pfcount", "watch", "blpop", "brpop", "bzpopmin", "bzpopmax"}
NOT_REDIS = {"os", "shutil", "os.path", "Path", "copy"}  # receivers whose rename/copy are file operations


@dataclass(frozen=True)
class Proof:
    why: str  # the comment: why every key of this call shares one hash tag
    example_keys: Callable[[], list[str]]  # keys the call site builds, for some sample arguments


# (file relative to src/leaderboard, the call's source with whitespace collapsed) -> proof
ALLOWLIST: dict[tuple[str, str], Proof] = {
    ("auth/revocations.py", "client.mget(keys.revoked_token(jti), keys.revoked_session(sid), "
     'keys.token_generation(str(payload.get("sub", ""))))'): Proof(
        "revocation keys all carry the {auth} hash tag (keys.revoked_token / revoked_session / token_generation)",
        lambda: [keys.revoked_token("some-jti"), keys.revoked_session("some-sid"), keys.token_generation("bob")],
    ),
    ("auth/revocations.py", "self.redis.pipeline(transaction=True)"): Proof(
        "INCR and EXPIRE of one key: the user's token generation",
        lambda: [keys.token_generation("bob")],
    ),
    ("competitions/webhooks.py", "redis.register_script(CLAIM_LUA)"): Proof(
        "the webhook claim script reads and writes one key: the due set keys.webhooks_due()",
        lambda: [keys.webhooks_due()],
    ),
    ("competitions/scripts.py", "redis.register_script(COMPETITION_LUA)"): Proof(
        "every key of the competition script is keys.competition(id, part) or keys.competition_seen(id, write):"
        " all tagged {comp:ID}",
        lambda: [*(keys.competition("cup", part) for part in ("all", "vol", "rank", "members", "dq", "asof",
                                                              "closed", "audit")),
                 keys.competition_seen("cup", "t:alice/1")],
    ),
    ("competitions/service.py", "self.redis.pipeline(transaction=True)"): Proof(
        "page() and place(): ZCARD/ZREVRANGE/ZSCORE/ZREVRANK of the competition's rank and all sets, {comp:ID}",
        lambda: [keys.competition("cup", "rank"), keys.competition("cup", "all")],
    ),
    ("competitions/service.py", "self.redis.register_script(CREATE_TEAM_LUA)"): Proof(
        "teams, team_of, team_codes and closed of one competition, all tagged {comp:ID}",
        lambda: [keys.competition("cup", p) for p in ("teams", "team_of", "team_codes", "closed")],
    ),
    ("competitions/service.py", "self.redis.register_script(JOIN_TEAM_LUA)"): Proof(
        "teams, team_of, team_codes and closed of one competition, all tagged {comp:ID}",
        lambda: [keys.competition("cup", p) for p in ("teams", "team_of", "team_codes", "closed")],
    ),
    ("competitions/moderation.py", "redis.register_script(FORGET_TEAM_LUA)"): Proof(
        "teams and team_of of one competition, both tagged {comp:ID}",
        lambda: [keys.competition("cup", "teams"), keys.competition("cup", "team_of")],
    ),
    ("ingest/actions.py", "redis.register_script(CONSUME_ACTION_LUA)"): Proof(
        "the script touches one key: the action hash (used flag is a field of it, not a key of its own)",
        lambda: [keys.action("some-action")],
    ),
    ("ingest/actions.py", "redis.register_script(GIVE_BACK_ACTION_LUA)"): Proof(
        "the script touches one key: the action hash",
        lambda: [keys.action("some-action")],
    ),
    ("ingest/actions.py", "self.redis.pipeline(transaction=True)"): Proof(
        "HSET and EXPIRE of the one action hash",
        lambda: [keys.action("some-action")],
    ),
    ("ingest/claims.py", "self.redis.register_script(CLAIM_WRITES_LUA)"): Proof(
        "claim_many() calls it once per identity board with that board's seen markers only (of every request it "
        "claims for), all tagged {board}",
        lambda: [keys.seen("all-volume", "t:alice/t-1"), keys.seen("all-volume", "t:bob/t-1")],
    ),
    ("ingest/claims.py", "self.redis.register_script(RELEASE_CLAIMS_LUA)"): Proof(
        "release() groups the claimed markers per board and calls it once per board",
        lambda: [keys.seen("all-volume", "t:alice/t-1"), keys.seen("all-volume", "t:bob/t-1")],
    ),
    ("ingest/consumer.py", 'self.redis.xreadgroup(self.group, self.name, {self.stream: ">"}, '
     "count=self.settings.CONSUMER_COUNT, block=self.settings.CONSUMER_BLOCK_MS)"): Proof(
        "reads one stream (the trade stream)",
        lambda: [keys.trade_stream()],
    ),
    ("ingest/consumer.py", "self.redis.pipeline(transaction=True)"): Proof(
        "XADD to the dead-letter stream and XACK of the trade stream: both carry the {trades} hash tag",
        lambda: [keys.trade_stream(), keys.trade_stream_dead()],
    ),
    ("ingest/flusher.py", "redis.register_script(APPLY_BOARD_BATCH_LUA)"): Proof(
        "build_board_batch gives it one board's sets and seen markers (a first_reached board: and each set's "
        "order set and reach hash), all tagged {board}",
        lambda: build_board_batch("volume", "best:first_reached", [BoardWrite("t-1", "alice", 5, 1_700_000_000_000)],
                                  marker_ttl=60, history_days=30, now=datetime(2023, 11, 14, tzinfo=UTC)).keys,
    ),
    ("ingest/rebuild.py", "redis.register_script(SWAP_BOARD_LUA)"): Proof(
        "swap_board passes one board's live sets and its rebuilt sets or markers with their live names "
        "(keys.rebuilding / rebuilt_to_live keep the {board} tag)",
        lambda: [keys.all_time("btc"), keys.hour("btc", datetime(2026, 12, 1, 5, tzinfo=UTC)),
                 keys.rebuilding(keys.seen("btc", "t:alice/1")), keys.seen("btc", "t:alice/1"),
                 keys.rebuilding(keys.live_changes("btc")), keys.live_changes("btc"),
                 keys.window("btc", "24h"), keys.rebuilding(keys.all_time("btc")),
                 keys.rebuilding(keys.day("btc", date(2026, 12, 1)))],
    ),
    ("ingest/flusher.py", "self.redis.pipeline(transaction=True)"): Proof(
        "one board's batch script (tagged {board}); the XACK joins it only when ack_in_transaction, which the "
        "consumer turns off on Redis Cluster (REDIS_CLUSTER) so the stream's slot never meets a board's",
        lambda: build_board_batch("volume", "sum", [BoardWrite("t-1", "alice", 5, 1_700_000_000_000)],
                                  marker_ttl=60, history_days=30, now=datetime(2023, 11, 14, tzinfo=UTC)).keys,
    ),
    ("jobs/lock.py", "self.redis.register_script(RELEASE_LUA)"): Proof(
        "compare-and-delete of one key: the job's lock",
        lambda: [keys.job_lock("snapshots")],
    ),
    ("ranking/snapshots.py", "redis.register_script(SAVE_IF_NEWER_LUA)"): Proof(
        "one key: the board period's snapshot hash",
        lambda: [keys.snapshot("volume", "24h")],
    ),
    ("ranking/store.py", "redis.register_script(MATERIALIZE_FR_LUA)"): Proof(
        "a first_reached board's window: MATERIALIZE_LUA's keys plus the window's and scratch's order set and "
        "reach hash (keys.tie_order / tie_reach append to a {board} key) and the hour buckets' reach hashes",
        lambda: [keys.window("game", "7d"), keys.window_scratch("game", "7d"), keys.window_stamp("game", "7d"),
                 keys.tie_order(keys.window("game", "7d")), keys.tie_reach(keys.window("game", "7d")),
                 keys.tie_order(keys.window_scratch("game", "7d")), keys.tie_reach(keys.window_scratch("game", "7d")),
                 keys.hour("game", datetime(2026, 11, 22, 10, tzinfo=UTC)),
                 keys.tie_reach(keys.hour("game", datetime(2026, 11, 22, 10, tzinfo=UTC)))],
    ),
    ("ranking/store.py", "redis.register_script(MATERIALIZE_LUA)"): Proof(
        "one board's window, scratch, stamp and hour buckets: all tagged {board}",
        lambda: [keys.window("volume", "7d"), keys.window_scratch("volume", "7d"), keys.window_stamp("volume", "7d"),
                 keys.hour("volume", datetime(2026, 11, 22, 10, tzinfo=UTC))],
    ),
    ("ranking/store.py", "redis.pipeline(transaction=True)"): Proof(
        "ZCARD+ZREVRANGE of one sorted set, or EXPIREAT of a day board with ZADD to that board's history "
        "index: both tagged {board}",
        lambda: [keys.day("volume", date(2026, 11, 21)), keys.history_index("volume")],
    ),
    ("ranking/store.py", "redis.register_script(RANKS_LUA)"): Proof(
        "reads one sorted set and its board's disqualified hash (keys.disqualified_of), for a first_reached "
        "board the set's order set and reach hash (store.read_keys): all tagged {board}",
        lambda: [*store.read_keys(keys.all_time("volume"), "first_reached"),
                 *store.read_keys(keys.all_time("volume"), "shared")],
    ),
    ("ranking/store.py", "redis.register_script(AROUND_LUA)"): Proof(
        "reads one sorted set and its board's disqualified hash (keys.disqualified_of): both tagged {board}",
        lambda: store.read_keys(keys.day("volume", date(2026, 11, 21)), "first_reached"),
    ),
    ("ranking/store.py", "pipe.evalsha(AROUND_SHA, len(read), *read, member, size)"): Proof(
        "around_many: AROUND_LUA once per member in a pipeline (not a transaction), each call with store.read_keys "
        "of one sorted set (the set and its board's disqualified hash; first_reached: its order set and reach "
        "hash): all tagged {board}",
        lambda: store.read_keys(keys.day("volume", date(2026, 11, 21)), "first_reached"),
    ),
    ("ranking/store.py", "pipe.evalsha(RANKS_SHA, len(read), *read, *members)"): Proof(
        "ranks_and_names: RANKS_LUA in a pipeline (not a transaction) with store.read_keys of one sorted set, as "
        "member_ranks calls it: all tagged {board}",
        lambda: store.read_keys(keys.window("volume", "24h"), "first_reached"),
    ),
    ("ranking/store.py", "redis.register_script(PAGE_LUA)"): Proof(
        "pages one sorted set (first_reached: its order set and reach hash, store.read_keys) past its board's "
        "disqualified hash (keys.disqualified_of): all tagged {board}",
        lambda: store.read_keys(keys.window("volume", "24h"), "first_reached"),
    ),
    ("ranking/moderation.py", "redis.register_script(DISQUALIFY_LUA)"): Proof(
        "one board's disqualified hash, audit list and live change marks: all tagged {board}",
        lambda: [keys.disqualified("volume"), keys.board_audit("volume"), keys.live_changes("volume")],
    ),
    ("ranking/store.py", "redis.unlink(*hour_keys, *day_keys)"): Proof(
        "one board's hour buckets and day boards: all tagged {board}",
        lambda: [keys.hour("volume", datetime(2026, 11, 1, 3, tzinfo=UTC)), keys.day("volume", date(2026, 10, 1))],
    ),
}


def _receiver(node: ast.Attribute) -> str:
    return ast.unparse(node.value)


def _is_multi_key(call: ast.Call) -> bool:
    func = call.func
    if not isinstance(func, ast.Attribute) or _receiver(func) in NOT_REDIS:
        return False
    name, args = func.attr, call.args
    starred = any(isinstance(arg, ast.Starred) for arg in args)
    if name in MULTI_KEY:
        return True
    if name in TWO_KEY:
        return len(args) >= 2 or starred
    if name in VARIADIC:
        return len(args) >= 2 or starred
    if name == "pipeline":  # a MULTI/EXEC unless transaction=False is passed
        for keyword in call.keywords:
            if keyword.arg == "transaction":
                return not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False)
        return not (args and isinstance(args[0], ast.Constant) and args[0].value is False)
    return False


def multi_key_call_sites(root: Path = SOURCE) -> dict[tuple[str, str], int]:
    """(file, collapsed source of the call) -> line, for every multi-key call under `root`."""
    found: dict[tuple[str, str], int] = {}
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and _is_multi_key(node):
                source = re.sub(r"\s+", " ", ast.get_source_segment(text, node) or "")
                source = source.replace("( ", "(").replace(" )", ")").replace(", )", ")")
                found[(str(path.relative_to(root)), source)] = node.lineno
    return found


def test_every_multi_key_call_is_proven_single_slot():
    unproven = {site: line for site, line in multi_key_call_sites().items() if site not in ALLOWLIST}
    listing = "\n".join(f"  {path}:{line}: {source}" for (path, source), line in unproven.items())
    assert not unproven, (
        "multi-key Redis calls without a same-slot proof (add them to ALLOWLIST in this file, with the hash "
        "tag their keys share):\n" + listing
    )


def test_allowlisted_keys_share_one_slot_and_every_entry_still_exists():
    sites = multi_key_call_sites()
    for site, proof in ALLOWLIST.items():
        assert site in sites, f"stale ALLOWLIST entry (the call is gone or changed): {site}"
        assert proof.why.strip()
        example = proof.example_keys()
        assert len(example) >= 1
        assert len({key_slot(key.encode()) for key in example}) == 1, f"{site}: keys in several slots: {example}"


def test_the_checker_catches_cross_slot_calls(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(r, a, b, ks):\n"
        "    r.mget(a, b)\n"
        "    r.delete(a, b)\n"
        "    r.exists(*ks)\n"
        "    r.rename(a, b)\n"
        "    r.pipeline()\n"
        "    r.pipeline(transaction=True)\n"
        "    r.eval('return 1', 2, a, b)\n"
        # not multi-key:
        "    r.delete(a)\n"
        "    r.pipeline(transaction=False)\n"
        "    os.rename(a, b)\n"
        "    a.exists()\n"
    )
    lines = sorted(multi_key_call_sites(tmp_path).values())
    assert lines == [2, 3, 4, 5, 6, 7, 8]
