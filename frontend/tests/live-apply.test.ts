import { describe, expect, it } from "vitest"

import {
  applyUpdate,
  memberInView,
  movementsAfter,
  percentile,
  validHead,
  viewOfPage,
  type BoardView,
} from "@/lib/live-board"
import type { Movement } from "@/lib/movement"
import type { Entry, LiveUpdate } from "@/lib/schemas"

// --- the oracle: a board as the server holds it (member -> score in minor units, and the time it reached it), its
// top N as the API ranks it (`shared`: score descending, member id descending inside a tie, competition ranks
// "1, 1, 3"; `first_reached`: the earlier reach first inside a tie, ranks = positions), and the server's `update`
// event between two tops (leaderboard/live/events.py: diff_rows + update_event, written here from its docstring:
// rows that entered or changed score or name, plus any row the client's rule would misplace) ---

type Scores = Map<string, number>
type Ties = "shared" | "first_reached"

const byIdDescending = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0)

function topOf(
  scores: Scores,
  n: number,
  ties: Ties = "shared",
  reach: ReadonlyMap<string, number> = new Map(),
  names: ReadonlyMap<string, string> = new Map()
): Entry[] {
  const sorted = [...scores].sort(
    ([a, x], [b, y]) =>
      y - x || (ties === "first_reached" ? (reach.get(a) ?? 0) - (reach.get(b) ?? 0) : 0) || byIdDescending(a, b)
  )
  const rows: Entry[] = []
  for (const [index, [member, score]] of sorted.entries()) {
    const previous = rows[index - 1]
    const tied = ties === "shared" && previous && sorted[index - 1]![1] === score
    const rank = tied ? previous.rank : index + 1
    rows.push({ rank, user_id: member, user_name: names.get(member) ?? member.toUpperCase(), score: String(score) })
  }
  return rows.slice(0, n)
}

/** The server's derivation check, written independently of lib/live-board.ts: rows that only shifted are placed
 * by keeping their order and their rank - position distance; the rows sent by rank, then id descending. */
function serverDerive(before: Entry[], sent: Entry[], removed: string[]): Entry[] {
  const named = new Set([...removed, ...sent.map((e) => e.user_id)])
  const slots: (Entry | undefined)[] = []
  const ordered = [...sent].sort((a, b) => a.rank - b.rank || byIdDescending(a.user_id, b.user_id))
  ordered.forEach((e, i) => {
    let same = 0
    for (let j = i - 1; j >= 0 && ordered[j]!.rank === e.rank; j--) same++
    slots[e.rank - 1 + same] = e
  })
  const kept = before.map((e, position) => ({ e, position })).filter(({ e }) => !named.has(e.user_id))
  const length = kept.length + sent.length
  const out: Entry[] = []
  for (let position = 0; position < length; position++) {
    const slot = slots[position]
    if (slot) out.push(slot)
    else {
      const next = kept.shift()
      if (!next) break
      out.push({ ...next.e, rank: next.e.rank + position - next.position })
    }
  }
  return out
}

function eventOf(before: Entry[] | null, after: Entry[], total: number, asOf: string, reset = false): LiveUpdate {
  const old = reset || !before ? [] : before
  const previous = new Map(old.map((e) => [e.user_id, e]))
  const kept = new Set(after.map((e) => e.user_id))
  const removed = old.filter((e) => !kept.has(e.user_id)).map((e) => e.user_id)
  const sent = new Set(
    after
      .filter((e) => {
        const was = previous.get(e.user_id)
        return !was || was.score !== e.score || was.user_name !== e.user_name
      })
      .map((e) => e.user_id)
  )
  for (;;) {
    const derived = serverDerive(old, after.filter((e) => sent.has(e.user_id)), removed)
    const wrong = after.filter((e, i) => !sent.has(e.user_id) && JSON.stringify(derived[i]) !== JSON.stringify(e))
    if (wrong.length === 0) break
    for (const e of wrong) sent.add(e.user_id)
  }
  return {
    board: "btc",
    period: "day",
    as_of: asOf,
    total,
    rows: after
      .filter((e) => sent.has(e.user_id))
      .map((e) => ({ ...e, previous_rank: previous.get(e.user_id)?.rank ?? null })),
    removed,
    reset: reset || before === null,
  }
}

/** A small deterministic PRNG (mulberry32): the same cases on every run. */
function random(seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const at = (second: number) => new Date(Date.UTC(2026, 10, 21, 12, 0, second)).toISOString()

/** Random writes: new members, raised scores (sums), lowered ones (a disqualification-like drop), ties, a reach
 * time that moves without the score (a late earlier write of a `best` board's value), renames. */
function mutate(scores: Scores, next: () => number, members: number, reach?: Map<string, number>, names?: Map<string, string>) {
  const writes = 1 + Math.floor(next() * 4)
  for (let w = 0; w < writes; w++) {
    const member = `m${Math.floor(next() * members)}`
    const roll = next()
    if (roll < 0.1) scores.delete(member)
    else if (roll < 0.25) scores.set(member, [...scores.values()][0] ?? 5) // a tie with someone
    else if (roll < 0.3 && reach) reach.set(member, Math.floor(next() * 5))
    else if (roll < 0.33 && names) names.set(member, `N${Math.floor(next() * 3)}`)
    else scores.set(member, (scores.get(member) ?? 0) + 1 + Math.floor(next() * 50))
    if (reach && roll >= 0.1 && roll < 0.25) reach.set(member, Math.floor(next() * 5))
  }
}

describe("applyUpdate against the oracle", () => {
  for (const ties of ["shared", "first_reached"] as const) {
    it(`keeps the top N exactly as the server's after every event, for random boards and writes (ties: ${ties})`, () => {
      let sentRows = 0
      let shifted = 0
      for (let seed = 1; seed <= 60; seed++) {
        const next = random(seed)
        const topN = 1 + Math.floor(next() * 12)
        const members = 3 + Math.floor(next() * 25)
        const scores: Scores = new Map()
        const reach = new Map<string, number>()
        const names = new Map<string, string>()
        mutate(scores, next, members, reach, names)
        let published = topOf(scores, topN, ties, reach, names)
        let view: BoardView | null = viewOfPage({ as_of: at(0), total: scores.size, entries: published })
        for (let step = 1; step <= 40; step++) {
          mutate(scores, next, members, reach, names)
          const after = topOf(scores, topN, ties, reach, names)
          const event = eventOf(published, after, scores.size, at(step))
          sentRows += event.rows.length
          shifted += after.filter((e) => published.some((p) => p.user_id === e.user_id && p.rank !== e.rank)).length
          // a client that held only the first rows (a list page) gets a head of the new top, and says if it was cut
          const keep = Math.floor(next() * (published.length + 1))
          const head = applyUpdate(viewOfPage({ as_of: at(step - 1), total: 0, entries: published.slice(0, keep) }),
                                   event, topN)
          if (head.kind !== "applied") throw new Error(`seed ${seed} step ${step}: ${head.kind}`)
          expect(head.view.entries, `head: seed ${seed} step ${step}`).toEqual(after.slice(0, head.view.entries.length))
          if (head.complete && keep === published.length) expect(head.view.entries).toEqual(after)

          const result = applyUpdate(view, event, topN)
          expect(result.kind, `seed ${seed} step ${step}`).toBe("applied")
          if (result.kind !== "applied") return
          expect(result.view.entries, `seed ${seed} step ${step}`).toEqual(after)
          expect(result.view.total).toBe(scores.size)
          expect(result.view.asOf).toBe(at(step))
          expect(result.complete).toBe(true)
          published = after
          view = result.view
        }
      }
      expect(shifted).toBeGreaterThan(0) // the cases do shift rows the events did not carry
      expect(sentRows).toBeGreaterThan(0)
    }, 30_000) // 4,800 events checked: ~0.5 s here, more on a loaded machine than vitest's 5 s default allows
  }

  it("carries one row for a new leader: the 100 rows it pushes down are derived, not sent", () => {
    const scores: Scores = new Map(Array.from({ length: 120 }, (_, i) => [`m${String(i).padStart(3, "0")}`, 1000 - i]))
    scores.set("tie", 950) // a tie inside the top
    const before = topOf(scores, 100)
    scores.set("leader", 5000)
    const after = topOf(scores, 100)
    const event = eventOf(before, after, scores.size, at(1))
    expect(event.rows).toEqual([{ rank: 1, previous_rank: null, user_id: "leader", user_name: "LEADER", score: "5000" }])
    expect(event.removed).toEqual([before[99]!.user_id])
    const result = applyUpdate(viewOfPage({ as_of: at(0), total: 121, entries: before }), event, 100)
    if (result.kind !== "applied") throw new Error(result.kind)
    expect(result.view.entries).toEqual(after)
  })

  it("starts over from a reset event (a new day) whatever it held", () => {
    const old = viewOfPage({ as_of: at(0), total: 3, entries: topOf(new Map([["a", 9], ["b", 8], ["c", 7]]), 10) })
    const fresh = topOf(new Map([["z", 2], ["y", 1]]), 10)
    const result = applyUpdate(old, eventOf(null, fresh, 2, at(1), true))
    expect(result).toEqual({ kind: "applied", view: { asOf: at(1), total: 2, entries: fresh }, complete: true })
  })

  it("ignores an event that is not newer than the rows (a replay after a re-read)", () => {
    const view = viewOfPage({ as_of: at(5), total: 1, entries: topOf(new Map([["a", 1]]), 10) })
    const replay = eventOf([], topOf(new Map([["b", 3]]), 10), 1, at(5))
    expect(applyUpdate(view, { ...replay, reset: false })).toEqual({ kind: "stale" })
    expect(applyUpdate(view, { ...replay, reset: false, as_of: at(4) })).toEqual({ kind: "stale" })
  })

  it("asks for a re-read when there are no rows to apply a change to", () => {
    const change = eventOf(topOf(new Map([["a", 1]]), 5), topOf(new Map([["a", 2]]), 5), 1, at(1))
    expect(applyUpdate(null, change)).toEqual({ kind: "resync" })
  })

  it("cuts the rows at the first gap when the view holds fewer rows than the stream's top (a list page)", () => {
    const scores: Scores = new Map(Array.from({ length: 8 }, (_, i) => [`m${i}`, 100 - i]))
    const top8 = topOf(scores, 8)
    // the view was read from the list with 4 rows; the stream's top is 8
    const view = viewOfPage({ as_of: at(0), total: 8, entries: top8.slice(0, 4) })
    scores.set("m1", 1) // m1 falls from 2nd to last: rows 3..8 move up (derived), m1 lands at 8 (sent)
    const after = topOf(scores, 8)
    const event = eventOf(top8, after, 8, at(1))
    expect(event.rows.map((row) => row.user_id)).toEqual(["m1"])
    const result = applyUpdate(view, event, 8)
    if (result.kind !== "applied") throw new Error(result.kind)
    // the rows held move up; the 4th is a row the view never held, so it stops there and says so
    expect(result.view.entries).toEqual(after.slice(0, 3))
    expect(result.complete).toBe(false)

    scores.set("m7", 99.5) // m7 jumps to 2nd: the held rows shift down by one and all of them stay known
    const later = topOf(scores, 8)
    const partial = viewOfPage({ as_of: at(1), total: 8, entries: after.slice(0, 3) })
    const again = applyUpdate(partial, eventOf(after, later, 8, at(2)), 8)
    if (again.kind !== "applied") throw new Error(again.kind)
    expect(again.view.entries).toEqual(later.slice(0, 4))
    expect(again.complete).toBe(true) // nothing it names lies past the rows it holds

    // a change far below what the view holds: the rows held stay, the far rows are cut, and it says so
    const view3 = viewOfPage({ as_of: at(2), total: 8, entries: later.slice(0, 3) })
    scores.set("m6", 95.5) // m6 passes m5
    const last = topOf(scores, 8)
    const cut = applyUpdate(view3, eventOf(later, last, 8, at(3)), 8)
    if (cut.kind !== "applied") throw new Error(cut.kind)
    expect(cut.view.entries).toEqual(last.slice(0, 3))
    expect(cut.complete).toBe(false)
  })

  it("drops rows past the stream's depth before applying (they are not kept current)", () => {
    const scores: Scores = new Map(Array.from({ length: 6 }, (_, i) => [`m${i}`, 60 - i]))
    const all6 = topOf(scores, 6)
    const view = viewOfPage({ as_of: at(0), total: 6, entries: all6 }) // read from the list: 6 rows
    scores.set("m5", 100) // last to first; the stream's top is 3
    const after = topOf(scores, 3)
    const result = applyUpdate(view, eventOf(all6.slice(0, 3), after, 6, at(1)), 3)
    if (result.kind !== "applied") throw new Error(result.kind)
    expect(result.view.entries).toEqual(after)
  })
})

describe("validHead", () => {
  it("accepts competition ranks and stops at a gap or a tie without the same score", () => {
    const e = (rank: number, id: string, score: string): Entry => ({ rank, user_id: id, user_name: id, score })
    expect(validHead([e(1, "b", "5"), e(1, "a", "5"), e(3, "c", "4")])).toHaveLength(3)
    expect(validHead([e(1, "b", "5"), e(3, "c", "4")])).toHaveLength(1)
    expect(validHead([e(1, "b", "5"), e(1, "a", "4")])).toHaveLength(1)
    expect(validHead([e(2, "b", "5")])).toHaveLength(0)
  })
})

describe("movementsAfter", () => {
  it("marks the rows an event names from their previous rank, the rows it shifted from the view, keeps the rest", () => {
    const before = new Map<string, Movement>([["keep", { kind: "up", by: 2 }], ["gone", { kind: "same" }]])
    const entry = (rank: number, id: string, score: string): Entry => ({ rank, user_id: id, user_name: id, score })
    const previous: BoardView = {
      asOf: at(0), total: 6,
      entries: [entry(1, "keep", "10"), entry(2, "same", "8"), entry(3, "up", "7"), entry(4, "down", "6"),
                entry(5, "shifted", "5"), entry(6, "gone", "4")],
    }
    const event: LiveUpdate = {
      board: "btc", period: "day", as_of: at(1), total: 6, removed: ["gone"], reset: false,
      rows: [
        { rank: 1, previous_rank: 3, user_id: "up", user_name: "up", score: "11" },
        { rank: 5, previous_rank: 4, user_id: "down", user_name: "down", score: "4.5" },
        { rank: 6, previous_rank: null, user_id: "new", user_name: "new", score: "4.2" },
        { rank: 3, previous_rank: 2, user_id: "same", user_name: "same", score: "8.5" },
      ],
    }
    const result = applyUpdate(previous, event)
    if (result.kind !== "applied") throw new Error(result.kind)
    expect(result.view.entries.map((e) => [e.rank, e.user_id])).toEqual([
      [1, "up"], [2, "keep"], [3, "same"], [4, "shifted"], [5, "down"], [6, "new"]])
    expect(Object.fromEntries(movementsAfter(before, event, previous, result.view))).toEqual({
      keep: { kind: "down", by: 1 }, // shifted by the new leader: derived from its rank in the view
      up: { kind: "up", by: 2 },
      down: { kind: "down", by: 1 },
      new: { kind: "new" },
      same: { kind: "down", by: 1 },
      shifted: { kind: "up", by: 1 },
    })
    const unmoved = new Map<string, Movement>([["keep", { kind: "up", by: 2 }]])
    const nothingShifted: LiveUpdate = { ...event, rows: [], removed: [] }
    expect(movementsAfter(unmoved, nothingShifted, previous, previous).get("keep")).toEqual({ kind: "up", by: 2 })
    expect(movementsAfter(before, { ...event, reset: true, rows: [] }, previous, { ...previous, entries: [] }).size)
      .toBe(0)
  })
})

describe("memberInView", () => {
  const view: BoardView = {
    asOf: at(0),
    total: 7,
    entries: topOf(new Map([["a", 70], ["b", 60], ["c", 50], ["d", 40], ["e", 30]]), 5),
  }

  it("gives the list's own rank, score, total and as_of, and the API's percentile", () => {
    const found = memberInView(view, "c", 3)
    expect(found?.member).toMatchObject({ rank: 3, score: "50", percentile: 71.43 })
    expect(found?.total).toBe(7)
    expect(found?.asOf).toBe(at(0))
    expect(found?.around?.map((e) => e.user_id)).toEqual(["b", "c", "d"])
    expect(memberInView(view, "a", 3)?.around?.map((e) => e.user_id)).toEqual(["a", "b", "c"])
    expect(memberInView(view, "zed", 3)).toBeNull()
  })

  it("leaves the around-me rows to the API when the view ends before them", () => {
    expect(memberInView(view, "e", 3)?.around).toBeNull() // needs the 6th row, which the view does not hold
    const whole = { ...view, total: 5 }
    expect(memberInView(whole, "e", 3)?.around?.map((e) => e.user_id)).toEqual(["c", "d", "e"])
  })

  it("rounds the percentile half up like the API (100 * (total - rank + 1) / total)", () => {
    expect(percentile(1, 1)).toBe(100)
    expect(percentile(2, 3)).toBe(66.67)
    expect(percentile(3, 8)).toBe(75)
    expect(percentile(200, 200)).toBe(0.5)
    expect(percentile(1, 40_000)).toBe(100)
    expect(percentile(40_000, 40_000)).toBe(0) // 0.0025 -> 0.00
    expect(percentile(7, 8)).toBe(25)
    expect(percentile(3, 16)).toBe(87.5)
    expect(percentile(1, 3)).toBe(100)
    expect(percentile(3, 3)).toBe(33.33)
  })
})
