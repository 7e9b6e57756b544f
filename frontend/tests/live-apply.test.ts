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

// --- the oracle: a board as the server holds it (member -> score in minor units), its top N as the API ranks it
// (score descending, member id descending inside a tie, competition ranks "1, 1, 3"), and the server's `update`
// event between two tops (leaderboard/live/events.py: diff_rows + update_event) ---

type Scores = Map<string, number>

function topOf(scores: Scores, n: number): Entry[] {
  const sorted = [...scores].sort(([a, x], [b, y]) => y - x || (a < b ? 1 : a > b ? -1 : 0))
  const rows: Entry[] = []
  for (const [index, [member, score]] of sorted.entries()) {
    const previous = rows[index - 1]
    const rank = previous && sorted[index - 1]![1] === score ? previous.rank : index + 1
    rows.push({ rank, user_id: member, user_name: member.toUpperCase(), score: String(score) })
  }
  return rows.slice(0, n)
}

function eventOf(before: Entry[] | null, after: Entry[], total: number, asOf: string, reset = false): LiveUpdate {
  const previous = new Map((reset || !before ? [] : before).map((e) => [e.user_id, e]))
  const rows = after
    .filter((e) => {
      const old = previous.get(e.user_id)
      return !old || old.rank !== e.rank || old.score !== e.score || old.user_name !== e.user_name
    })
    .map((e) => ({ ...e, previous_rank: previous.get(e.user_id)?.rank ?? null }))
  const kept = new Set(after.map((e) => e.user_id))
  return {
    board: "btc",
    period: "day",
    as_of: asOf,
    total,
    rows,
    removed: [...previous.keys()].filter((id) => !kept.has(id)),
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

/** Random writes: new members, raised scores (sums), lowered ones (a disqualification-like drop), ties. */
function mutate(scores: Scores, next: () => number, members: number) {
  const writes = 1 + Math.floor(next() * 4)
  for (let w = 0; w < writes; w++) {
    const member = `m${Math.floor(next() * members)}`
    const roll = next()
    if (roll < 0.1) scores.delete(member)
    else if (roll < 0.25) scores.set(member, [...scores.values()][0] ?? 5) // a tie with someone
    else scores.set(member, (scores.get(member) ?? 0) + 1 + Math.floor(next() * 50))
  }
}

describe("applyUpdate against the oracle", () => {
  it("keeps the top N exactly as the server's after every event, for random boards and writes", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const next = random(seed)
      const topN = 1 + Math.floor(next() * 12)
      const members = 3 + Math.floor(next() * 25)
      const scores: Scores = new Map()
      mutate(scores, next, members)
      let published = topOf(scores, topN)
      let view: BoardView | null = viewOfPage({ as_of: at(0), total: scores.size, entries: published })
      for (let step = 1; step <= 40; step++) {
        mutate(scores, next, members)
        const after = topOf(scores, topN)
        const event = eventOf(published, after, scores.size, at(step))
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
    scores.set("m1", 1) // m1 falls from 2nd to last: rows 2..8 move up, m1 lands at 8
    const after = topOf(scores, 8)
    const result = applyUpdate(view, eventOf(top8, after, 8, at(1)), 8)
    if (result.kind !== "applied") throw new Error(result.kind)
    // every row up to the end of the new top is known (each one moved, so the event names it)
    expect(result.view.entries).toEqual(after)

    scores.set("m7", 99.5) // only m7 moves (to 2nd): rows 3..7 shift and are named; nothing is missing
    const later = topOf(scores, 8)
    const partial = viewOfPage({ as_of: at(1), total: 8, entries: after.slice(0, 3) })
    const again = applyUpdate(partial, eventOf(after, later, 8, at(2)), 8)
    if (again.kind !== "applied") throw new Error(again.kind)
    expect(again.view.entries).toEqual(later.slice(0, again.view.entries.length))
    expect(again.view.entries.length).toBeGreaterThanOrEqual(3)

    // a change far below what the view holds: the rows held stay, the lone far row is cut, and it says so
    const view3 = viewOfPage({ as_of: at(2), total: 8, entries: later.slice(0, 3) })
    scores.set("m6", 95.5) // m6 and m5 swap 6th and 7th: the event names only those two
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
  it("marks the rows an event names from their previous rank and keeps the others' marks", () => {
    const before = new Map<string, Movement>([["keep", { kind: "up", by: 2 }], ["gone", { kind: "same" }]])
    const event: LiveUpdate = {
      board: "btc", period: "day", as_of: at(1), total: 5, removed: ["gone"], reset: false,
      rows: [
        { rank: 1, previous_rank: 3, user_id: "up", user_name: "UP", score: "9" },
        { rank: 4, previous_rank: 2, user_id: "down", user_name: "DOWN", score: "3" },
        { rank: 5, previous_rank: null, user_id: "new", user_name: "NEW", score: "1" },
        { rank: 2, previous_rank: 2, user_id: "same", user_name: "SAME", score: "8" },
      ],
    }
    expect(Object.fromEntries(movementsAfter(before, event))).toEqual({
      keep: { kind: "up", by: 2 },
      up: { kind: "up", by: 2 },
      down: { kind: "down", by: 2 },
      new: { kind: "new" },
      same: { kind: "same" },
    })
    expect(movementsAfter(before, { ...event, reset: true, rows: [] }).size).toBe(0)
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
