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
 * Apply an `update` event to a view. `depth`: how many rows the stream's top holds (learned from its snapshot;
 * rows past it are not kept current by the events, so they are dropped first).
 */
export function applyUpdate(view: BoardView | null, event: LiveUpdate, depth?: number): ApplyResult {
  if (view !== null && !isNewer(event.as_of, view.asOf)) return { kind: "stale" }
  if (view === null && !event.reset) return { kind: "resync" }
  const touched = new Set([...event.removed, ...event.rows.map((row) => row.user_id)])
  const base = event.reset || view === null ? [] : view.entries.slice(0, depth ?? view.entries.length)
  const merged = [...base.filter((entry) => !touched.has(entry.user_id)), ...event.rows.map(entryOf)]
  merged.sort(compareEntries)
  const entries = validHead(merged)
  if (entries.length === 0 && merged.length > 0) return { kind: "resync" }
  return {
    kind: "applied",
    view: { asOf: event.as_of, total: event.total, entries },
    complete: entries.length === merged.length,
  }
}

/** The rank marks after an event: rows it names get their move (from `previous_rank`), the others keep theirs. */
export function movementsAfter(
  before: ReadonlyMap<string, Movement>,
  event: LiveUpdate
): Map<string, Movement> {
  const next = event.reset ? new Map<string, Movement>() : new Map(before)
  for (const id of event.removed) next.delete(id)
  for (const row of event.rows) {
    const was = row.previous_rank
    next.set(
      row.user_id,
      was === null
        ? { kind: "new" }
        : row.rank < was
          ? { kind: "up", by: was - row.rank }
          : row.rank > was
            ? { kind: "down", by: row.rank - was }
            : { kind: "same" }
    )
  }
  return next
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
