"""The write-ahead log on its own: records, checksums, segments, ownership and claiming."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from leaderboard.ingest.wal import WriteAheadLog, decode_record, encode_record, read_segment
from leaderboard.ingest.writes import Increment, Write


def w(i: int) -> Write:
    increments = (Increment("btc", "sum", i), Increment("all-volume", "sum", i))
    return Write(f"t:{i}", "alice", 1_700_000_000_000 + i, increments)


def test_records_round_trip_and_torn_or_corrupt_lines_are_skipped(tmp_path):
    assert decode_record(encode_record(w(1))) == w(1)
    line = encode_record(w(2))
    assert decode_record(line[:-5]) is None  # torn
    assert decode_record(line.replace(b"alice", b"alicf")) is None  # corrupt
    path = tmp_path / "seg.log"
    path.write_bytes(encode_record(w(1)) + encode_record(w(2)) + line[:20])
    assert read_segment(path) == ([w(1), w(2)], 1)


@pytest.mark.parametrize("policy", ["always", "interval"])
def test_appends_land_in_the_segment_and_applied_segments_are_deleted_on_close(tmp_path, policy):
    wal = WriteAheadLog(tmp_path, policy, 50).open()
    segment, position = wal.append([w(1), w(2)])
    wal.wait_durable(position)
    assert read_segment(segment.path)[0] == [w(1), w(2)]
    wal.release(segment, 2)
    wal.close()
    assert list(tmp_path.iterdir()) == []


def test_a_segment_with_pending_writes_survives_close_and_is_claimed_by_the_next_owner(tmp_path):
    first = WriteAheadLog(tmp_path).open()
    first.append([w(1), w(2), w(3)])
    first.close()  # nothing released: the writes were never applied
    second = WriteAheadLog(tmp_path).open()
    claimed = second.claim_orphans()
    assert [writes for _segment, writes in claimed] == [[w(1), w(2), w(3)]]
    segment = claimed[0][0]
    second.release(segment, 3)
    assert not segment.path.exists()
    assert not any(p.name.startswith(f"owner-{first.owner_id}") for p in tmp_path.iterdir())
    second.close()
    assert list(tmp_path.iterdir()) == []


def test_a_live_owner_is_never_claimed(tmp_path):
    live = WriteAheadLog(tmp_path).open()
    live.append([w(1)])
    other = WriteAheadLog(tmp_path).open()
    assert other.claim_orphans() == []
    other.close()
    live.close()


def test_a_killed_process_leaves_its_segment_for_others(tmp_path):
    child = (
        "import os, sys\n"
        "from leaderboard.ingest.wal import WriteAheadLog\n"
        "from leaderboard.ingest.writes import Increment, Write\n"
        f"wal = WriteAheadLog({str(tmp_path)!r}).open()\n"
        "wal.append([Write('t:k', 'bob', 1700000000000, (Increment('eth', 'sum', 5),))])\n"
        "os._exit(9)\n"
    )
    assert subprocess.run([sys.executable, "-c", child], timeout=30).returncode == 9
    survivor = WriteAheadLog(tmp_path).open()
    claimed = survivor.claim_orphans()
    assert [[x.write_id for x in writes] for _s, writes in claimed] == [["t:k"]]
    survivor.close()


def test_segments_roll_past_the_size_limit_and_sealed_ones_go_once_applied(tmp_path):
    wal = WriteAheadLog(tmp_path, segment_max_bytes=300).open()
    segments = [wal.append([w(i)])[0] for i in range(6)]
    assert len({s.path for s in segments}) > 1
    for segment in segments:
        wal.release(segment, 1)
    assert len(list(tmp_path.glob("wal-*.log"))) == 1  # only the active one is left
    wal.close()


def test_group_commit_under_always_policy_covers_concurrent_appends(tmp_path, monkeypatch):
    fsyncs = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd)))
    wal = WriteAheadLog(tmp_path, "always").open()

    def writer(n: int) -> None:
        for i in range(50):
            _segment, position = wal.append([w(n * 1000 + i)])
            wal.wait_durable(position)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wal._synced == 400
    assert len(fsyncs) <= 400
    wal.close()


def test_a_fully_applied_active_segment_is_replaced_so_replays_stay_short(tmp_path, monkeypatch):
    monkeypatch.setattr("leaderboard.ingest.wal.ROLL_WHEN_APPLIED_BYTES", 100)
    wal = WriteAheadLog(tmp_path).open()
    first, _ = wal.append([w(1), w(2)])
    wal.release(first, 2)
    assert not first.path.exists()
    second, _ = wal.append([w(3)])
    assert second.path != first.path
    wal.close()
