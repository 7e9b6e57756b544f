// The board's live state on the client: the top rows of one board period at one as_of, kept current by applying
// the stream's events in place (no re-read of the list). Pure functions: the hook (hooks/use-leaderboard.ts)
// holds the state, the rank card derives from it (one as_of on the screen), tests check them against an oracle.

import type { Movement } from "@/lib/movement"
import type { Entry, LeaderboardPage, LiveRow, LiveUpdate } from "@/lib/schemas"

export interface BoardView {
  /** The snapshot time every row, the total and the rank card on screen are true at. */
  asOf: string
  total: number
  /** Rows from rank 1 without a gap, in the API's order (rank, then member id descending). */
  entries: Entry[]
}

export type ApplyResult =
  /** `complete` false: rows past `view.entries` were cut because the event names rows this view never had
   * (a view read from the list endpoint holds fewer rows than the stream's top); read the list again if the
   * screen needs more rows than `view.entries`. */
  | { kind: "applied"; view: BoardView; complete: boolean }
  /** The event is not newer than the view (a replay after a re-read): nothing to do. */
  | { kind: "stale" }
  /** No view to apply it to, or it does not fit the view: read the list again. */
  | { kind: "resync" }

export function viewOfPage(page: Pick<LeaderboardPage, "as_of" | "total" | "entries">): BoardView {
  return { asOf: page.as_of, total: page.total, entries: [...page.entries] }
}

/** a is newer than b (ISO-8601 times; an unparsable time is never newer). */
export function isNewer(a: string, b: string): boolean {
  return Date.parse(a) > Date.parse(b)
}

/** The API's order: rank, then member id in descending order inside a tie. */
export function compareEntries(a: Entry, b: Entry): number {
  if (a.rank !== b.rank) return a.rank - b.rank
  return a.user_id < b.user_id ? 1 : a.user_id > b.user_id ? -1 : 0
}

/** The longest head of `sorted` that is a valid top list: rank 1 first, then each row either tied with the
 * previous one (same rank, same score) or at its position (competition ranking: "1, 1, 3"). */
export function validHead(sorted: readonly Entry[]): Entry[] {
  const head: Entry[] = []
  for (const [index, entry] of sorted.entries()) {
    const previous = head[index - 1]
    const tied = previous !== undefined && previous.rank === entry.rank && previous.score === entry.score
    if (!tied && entry.rank !== index + 1) break
    head.push(entry)
  }
  return head
}

function entryOf(row: LiveRow): Entry {
  return { rank: row.rank, user_id: row.user_id, user_name: row.user_name, score: row.score }
}

/**
 * The new top from the rows held (`held`: from rank 1, in the API's order) and an update's rows and removed ids,
 * by the server's rule (leaderboard/live/events.py `derive`): the event carries only rows that entered or changed
 * score or name (and any row the rule would misplace); the rows it does not name kept their score, so their order,
 * and fill the positions the rows sent leave free, from the top, each keeping its distance between rank and
 * position. `complete` false: it stopped at a position only a row it never held could fill.
 */
export function deriveTop(
  held: readonly Entry[],
  rows: readonly Entry[],
  removed: readonly string[]
): { entries: Entry[]; complete: boolean } {
  const named = new Set([...removed, ...rows.map((row) => row.user_id)])
  const placed = new Map<number, Entry>()
  const sorted = [...rows].sort(compareEntries)
  let sameRank = 0
  for (const [index, row] of sorted.entries()) {
    sameRank = index > 0 && sorted[index - 1]!.rank === row.rank ? sameRank + 1 : 0
    placed.set(row.rank - 1 + sameRank, row)
  }
  const kept: Array<[number, Entry]> = []
  for (const [position, entry] of held.entries()) if (!named.has(entry.user_id)) kept.push([position, entry])
  const entries: Entry[] = []
  let nextKept = 0
  while (placed.size > 0 || nextKept < kept.length) {
    const position = entries.length
    const sent = placed.get(position)
    if (sent) {
      entries.push(sent)
      placed.delete(position)
    } else if (nextKept < kept.length) {
      const [was, entry] = kept[nextKept++]!
      entries.push({ ...entry, rank: entry.rank + position - was })
    } else {
      return { entries, complete: false } // a row this view never held goes here
    }
  }
  return { entries, complete: true }
}

/**
 * Apply an `update` event to a view. `depth`: how many rows the stream's top holds (learned from its snapshot;
 * rows past it are not kept current by the events, so they are dropped first).
 */
export function applyUpdate(view: BoardView | null, event: LiveUpdate, depth?: number): ApplyResult {
  if (view !== null && !isNewer(event.as_of, view.asOf)) return { kind: "stale" }
  if (view === null && !event.reset) return { kind: "resync" }
  const held = event.reset || view === null ? [] : view.entries.slice(0, depth ?? view.entries.length)
  const derived = deriveTop(held, event.rows.map(entryOf), event.removed)
  const entries = validHead(derived.entries)
  if (entries.length === 0 && derived.entries.length > 0) return { kind: "resync" }
  return {
    kind: "applied",
    view: { asOf: event.as_of, total: event.total, entries },
    complete: derived.complete && entries.length === derived.entries.length,
  }
}

function movementOf(rank: number, was: number | null): Movement {
  if (was === null) return { kind: "new" }
  if (rank < was) return { kind: "up", by: was - rank }
  if (rank > was) return { kind: "down", by: rank - was }
  return { kind: "same" }
}

/** The rank marks after an event: rows it names get their move (from `previous_rank`), rows it shifted (their
 * rank in `next` differs from the one in `previous`) theirs, the others keep their marks. */
export function movementsAfter(
  before: ReadonlyMap<string, Movement>,
  event: LiveUpdate,
  previous: BoardView | null,
  next: BoardView
): Map<string, Movement> {
  const marks = event.reset ? new Map<string, Movement>() : new Map(before)
  for (const id of event.removed) marks.delete(id)
  const sent = new Map(event.rows.map((row) => [row.user_id, row]))
  const wasRank = new Map((event.reset ? [] : (previous?.entries ?? [])).map((e) => [e.user_id, e.rank]))
  for (const entry of next.entries) {
    const row = sent.get(entry.user_id)
    if (row) marks.set(entry.user_id, movementOf(row.rank, row.previous_rank))
    else {
      const was = wasRank.get(entry.user_id)
      if (was !== undefined && was !== entry.rank) marks.set(entry.user_id, movementOf(entry.rank, was))
    }
  }
  for (const row of event.rows) if (!marks.has(row.user_id)) marks.set(row.user_id, movementOf(row.rank, row.previous_rank))
  return marks
}

/** The API's percentile: 100 * (total - rank + 1) / total, two decimals, rounded half up (exact, in integers). */
export function percentile(rank: number, total: number): number {
  if (total <= 0) return 0
  const scaled = 10_000 * (total - rank + 1)
  return Math.floor((2 * scaled + total) / (2 * total)) / 100
}

export interface MemberInView {
  member: Entry & { percentile: number }
  total: number
  asOf: string
  /** The rows around the member as GET .../around?size= would give them, or null when the view does not hold
   * them all (the member is near its end). */
  around: Entry[] | null
}

/** A member's rank card out of the view itself (same as_of, rank, score and total as the list), or null when
 * the member is not in it. */
export function memberInView(view: BoardView, userId: string, aroundSize: number): MemberInView | null {
  const index = view.entries.findIndex((entry) => entry.user_id === userId)
  const found = view.entries[index]
  if (!found) return null
  let start = Math.max(0, index - Math.floor((aroundSize - 1) / 2))
  let stop = start + aroundSize - 1
  if (stop > view.total - 1) {
    stop = view.total - 1
    start = Math.max(0, stop - aroundSize + 1)
  }
  return {
    member: { ...found, percentile: percentile(found.rank, view.total) },
    total: view.total,
    asOf: view.asOf,
    around: stop < view.entries.length ? view.entries.slice(start, stop + 1) : null,
  }
}
