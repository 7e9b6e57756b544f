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
from pathlib import Path

from redis.crc import key_slot

from leaderboard.ranking import keys

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
    ("auth/tokens.py", "self.redis.exists(keys.revoked_token(jti), keys.revoked_session(sid))"): Proof(
        "revocation keys all carry the {auth} hash tag (keys.revoked_token / keys.revoked_session)",
        lambda: [keys.revoked_token("some-jti"), keys.revoked_session("some-sid")],
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
