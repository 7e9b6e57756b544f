"use client"

import { atom, useAtomValue, useSetAtom } from "jotai"
import { useEffect, useRef } from "react"

import { api, ApiError, isApiError, type ApiClient } from "@/lib/api"
import {
  applyUpdate,
  isNewer,
  movementsAfter,
  viewOfPage,
  type BoardView,
} from "@/lib/live-board"
import { rankMovements, snapshotRanks, type Movement } from "@/lib/movement"
import { isLeaderboardPage, isLiveUpdate, type Entry, type LeaderboardPage, type Period } from "@/lib/schemas"

export const PAGE_SIZE = 50
/** Never poll more often than this, even if the API says the refresh is overdue. */
export const POLL_FLOOR_MS = 2_000
/** Never wait longer than this, whatever next_refresh_at says. */
export const POLL_CAP_MS = 120_000
/** Spread clients so they do not all hit the API the same millisecond. */
export const POLL_JITTER_MS = 750
const RETRY_BASE_MS = 5_000
const RETRY_CAP_MS = 60_000
/** Refused streams in a row, none ever opened, after which the board only polls. */
const STREAM_GIVE_UP_FAILURES = 3

export type LeaderboardStatus = "loading" | "ready" | "error" | "not-found"
/** "live": the board's event stream is open and drives the board; "polling": it is not (yet, or it failed). */
export type LeaderboardMode = "live" | "polling"

export interface LeaderboardState {
  status: LeaderboardStatus
  /** Metadata of the board on screen: as_of, next_refresh_at, resets_at, total (as_of and total follow the
   * stream's events). */
  page: LeaderboardPage | null
  /** Every row known at page.as_of (the stream's top, or the pages read from the list): the rank card's source. */
  view: BoardView | null
  /** The rows on screen: the first pages of `view`. */
  entries: Entry[]
  /** More rows exist past the ones on screen (Load more). */
  hasMore: boolean
  movements: Map<string, Movement>
  /** The last failure; with `page` set it means the data on screen is stale. */
  error: ApiError | null
  isRefreshing: boolean
  isLoadingMore: boolean
  loadMoreError: ApiError | null
  mode: LeaderboardMode
}

export const INITIAL_STATE: LeaderboardState = {
  status: "loading",
  page: null,
  view: null,
  entries: [],
  hasMore: false,
  movements: new Map(),
  error: null,
  isRefreshing: false,
  isLoadingMore: false,
  loadMoreError: null,
  mode: "polling",
}

/** Delay until the API's next refresh, plus jitter, kept within [floor, cap]. */
export function nextPollDelay(nextRefreshAt: string, now: number, jitterMs: number): number {
  const target = Date.parse(nextRefreshAt)
  const wait = Number.isNaN(target) ? POLL_CAP_MS : target - now + jitterMs
  return Math.min(POLL_CAP_MS, Math.max(POLL_FLOOR_MS, wait))
}

function retryDelay(failures: number): number {
  return Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.max(0, failures - 1))
}

function toApiError(error: unknown): ApiError {
  if (isApiError(error)) return error
  const message = error instanceof Error ? error.message : "Unexpected error"
  return new ApiError(0, "unexpected_error", message)
}

function parseEvent(raw: unknown): unknown {
  if (typeof raw !== "string") return null
  try {
    return JSON.parse(raw)
  } catch {
    return null
  }
}

/** Marks against the previous rows; a row past the previous rows' end is not "new", only unseen before. */
function marksAgainst(previous: BoardView | null, entries: readonly Entry[]): Map<string, Movement> {
  const marks = rankMovements(previous ? snapshotRanks(previous.entries) : null, entries)
  const seen = previous?.entries.length ?? 0
  for (const entry of entries) {
    if (entry.rank > seen && marks.get(entry.user_id)?.kind === "new") marks.delete(entry.user_id)
  }
  return marks
}

interface PollerOptions {
  board: string
  period: Period
  client: ApiClient
  pageSize: number
  onChange: (state: LeaderboardState) => void
  /** The board's Server-Sent Events URL; null (or no EventSource in this browser): poll only. */
  streamUrl: string | null
}

/**
 * The board of one period on screen. With the stream open, its `snapshot` event replaces the rows and each
 * `update` event is applied to them in place (lib/live-board.ts): no read of the list. The list is read at the
 * start, while polling (no stream, or it failed), and when an event does not fit the rows held (a gap, or rows
 * past the stream's top on screen after Load more).
 */
function createPoller({ board, period, client, pageSize, onChange, streamUrl }: PollerOptions) {
  let state = INITIAL_STATE
  /** rows known at one as_of; `cursor` continues it on the list endpoint (valid for cursorAsOf only) */
  let view: BoardView | null = null
  let cursor: string | null = null
  let cursorAsOf: string | null = null
  /** rows the stream keeps current (its snapshot's length when the board has more members); unknown: all */
  let depth: number | undefined
  let pagesShown = 1
  let failures = 0
  let unchangedPolls = 0
  let generation = 0
  let dueAt: number | null = null
  let timer: ReturnType<typeof setTimeout> | null = null
  let inFlight: AbortController | null = null
  let stopped = false
  let source: EventSource | null = null
  let reopenTimer: ReturnType<typeof setTimeout> | null = null
  let streamFailures = 0
  let everOpened = false
  let live = false

  const update = (patch: Partial<LeaderboardState>) => {
    state = { ...state, ...patch }
    if (!stopped) onChange(state)
  }

  const shownRows = () => pagesShown * pageSize

  /** The view on screen: its first pages, the page metadata following its as_of and total. */
  const show = (next: BoardView, patch: Partial<LeaderboardState> = {}) => {
    view = next
    const base = patch.page ?? state.page
    let page = base
    if (base && (base.as_of !== next.asOf || base.total !== next.total)) {
      const interval = Date.parse(base.next_refresh_at) - Date.parse(base.as_of)
      const nextRefresh = Number.isNaN(interval) ? base.next_refresh_at : new Date(Date.parse(next.asOf) + interval).toISOString()
      page = { ...base, as_of: next.asOf, total: next.total, next_refresh_at: nextRefresh }
    }
    const entries = next.entries.slice(0, shownRows())
    update({
      status: "ready",
      ...patch,
      page,
      view: next,
      entries,
      // past the rows held: a cursor continues them, or they changed since the last read said where the list
      // ends (the board grew past the stream's top); a read of the list finds out
      hasMore:
        entries.length < next.entries.length ||
        (next.entries.length < next.total && (cursor !== null || cursorAsOf !== next.asOf)),
    })
  }

  const clearTimer = () => {
    if (timer !== null) clearTimeout(timer)
    timer = null
  }

  const arm = () => {
    clearTimer()
    if (stopped || dueAt === null || document.hidden) return
    timer = setTimeout(() => void refresh(), Math.max(0, dueAt - Date.now()))
  }

  const scheduleIn = (delayMs: number) => {
    dueAt = Date.now() + delayMs
    arm()
  }

  async function fetchShownPages(signal: AbortSignal) {
    const first = await client.getLeaderboard(board, { period, limit: pageSize }, signal)
    const entries = [...first.entries]
    let next = first.next_cursor
    // Keep the rows a user already revealed with "Load more" on screen.
    for (let read = 1; read < pagesShown && next; read++) {
      const more = await client.getLeaderboard(board, { period, limit: pageSize, cursor: next }, signal)
      entries.push(...more.entries)
      next = more.next_cursor
    }
    return { first, entries, next }
  }

  async function refresh() {
    clearTimer()
    inFlight?.abort()
    const controller = new AbortController()
    inFlight = controller
    update({ isRefreshing: true })
    try {
      const { first, entries, next } = await fetchShownPages(controller.signal)
      if (controller.signal.aborted || stopped) return
      failures = 0
      generation++
      const unchanged = state.page?.as_of === first.as_of
      unchangedPolls = unchanged ? unchangedPolls + 1 : 0
      if (view && !isNewer(first.as_of, view.asOf) && view.entries.length >= Math.min(view.total, shownRows())) {
        // the stream's rows are as new as this read (and deeper) or moved past it meanwhile: they stay, with
        // this read's metadata (resets_at after a new day) at their as_of
        show(view, { page: first, error: null, isRefreshing: false })
      } else {
        const read = viewOfPage({ ...first, entries })
        // The same snapshot again carries no news: keep the arrows of the last change.
        const movements = unchanged ? state.movements : marksAgainst(view, entries)
        cursor = next
        cursorAsOf = first.as_of
        show(read, { page: first, movements, error: null, isRefreshing: false })
      }
      // A snapshot that did not move although it was due (server cache behind):
      // back off from the floor instead of asking again every 2 s.
      const backoff = Math.min(POLL_CAP_MS, POLL_FLOOR_MS * 2 ** unchangedPolls)
      const delay = nextPollDelay(first.next_refresh_at, Date.now(), Math.random() * POLL_JITTER_MS)
      if (live) {
        dueAt = null // the stream says when the board changed: no timer while it is open
        clearTimer()
      } else {
        scheduleIn(unchangedPolls > 0 ? Math.max(delay, backoff) : delay)
      }
    } catch (error) {
      if (controller.signal.aborted || stopped) return
      const apiError = toApiError(error)
      if (apiError.status === 404 && apiError.code === "board_not_found") {
        update({ status: "not-found", error: apiError, isRefreshing: false })
        return
      }
      failures++
      update({
        status: state.page ? "ready" : "error",
        error: apiError,
        isRefreshing: false,
      })
      scheduleIn(retryDelay(failures))
    } finally {
      if (inFlight === controller) inFlight = null
    }
  }

  async function loadMore() {
    if (!view || state.isLoadingMore || !state.hasMore) return
    pagesShown++
    if (view.entries.length >= Math.min(view.total, shownRows())) return show(view) // rows held already
    if (!cursor || cursorAsOf !== view.asOf) {
      // the cursor belongs to an older snapshot: read the shown pages afresh
      update({ isLoadingMore: true, loadMoreError: null })
      await refresh()
      return update({ isLoadingMore: false })
    }
    const startedAt = generation
    const startedView = view
    update({ isLoadingMore: true, loadMoreError: null })
    try {
      const next = await client.getLeaderboard(board, { period, limit: pageSize, cursor })
      // A refresh or an event landed meanwhile: the cursor's snapshot is not the one on screen, drop this page.
      if (stopped || generation !== startedAt || view !== startedView) return update({ isLoadingMore: false })
      cursor = next.next_cursor
      show({ ...view, entries: [...view.entries, ...next.entries] }, {
        movements: state.movements, isLoadingMore: false,
      })
    } catch (error) {
      pagesShown--
      update({ isLoadingMore: false, loadMoreError: toApiError(error) })
    }
  }

  const onVisibilityChange = () => {
    if (document.hidden) return clearTimer()
    if (dueAt !== null && dueAt <= Date.now()) void refresh()
    else arm()
  }

  const goLive = () => {
    streamFailures = 0
    if (!live) {
      live = true
      dueAt = null
      clearTimer()
      update({ mode: "live" })
    }
  }

  /** The stream's first event (or a fresh one after a reconnect the server could not replay): the top list at
   * its as_of, as the list endpoint gives it. */
  const onSnapshot = (event: MessageEvent) => {
    if (stopped) return
    const snapshot = parseEvent(event.data)
    goLive()
    if (!isLeaderboardPage(snapshot)) return void refresh()
    if (snapshot.entries.length < snapshot.total) depth = snapshot.entries.length
    if (view && isNewer(view.asOf, snapshot.as_of)) return // a read of the list was newer already
    const movements = state.page?.as_of === snapshot.as_of ? state.movements : marksAgainst(view, snapshot.entries)
    cursor = snapshot.next_cursor
    cursorAsOf = snapshot.as_of
    generation++
    const next = viewOfPage(snapshot)
    show(next, { page: snapshot, movements, error: null })
    if (depth !== undefined && shownRows() > depth && next.entries.length < Math.min(next.total, shownRows())) {
      void refresh() // rows past the stream's top are on screen: the list has them
    }
  }

  /** A change of the top list: applied to the rows in place. */
  const onUpdate = (event: MessageEvent) => {
    if (stopped) return
    const change = parseEvent(event.data)
    goLive()
    if (!isLiveUpdate(change)) return void refresh()
    if (depth !== undefined && shownRows() > depth) return void refresh() // rows past the stream's top on screen
    const result = applyUpdate(view, change, depth)
    if (result.kind === "stale") return
    if (result.kind === "resync") return void refresh()
    generation++
    show(result.view, { movements: movementsAfter(state.movements, change, view, result.view), error: null })
    if (change.reset) void refresh() // a new day: the page's resets_at moves too
    else if (!result.complete && result.view.entries.length < Math.min(result.view.total, shownRows())) void refresh()
  }

  /** The board's event stream. On a network error the browser reconnects by itself (the server's `retry:`
   * advice, resuming with Last-Event-ID) and the list is polled meanwhile; when the browser gives up (the
   * server refused: full, stopping), a new stream is opened after a backoff (it starts with a snapshot). */
  const openStream = () => {
    if (!streamUrl || typeof EventSource === "undefined" || stopped) return
    const opened = new EventSource(streamUrl)
    source = opened
    // open: the server answered (a resumed stream with nothing missed sends no event until the next change)
    opened.addEventListener("open", () => {
      if (stopped || source !== opened) return
      everOpened = true
      goLive()
      if (state.error) void refresh() // back after a failure: one read confirms the rows and clears the error
    })
    opened.addEventListener("snapshot", onSnapshot)
    opened.addEventListener("update", onUpdate)
    opened.addEventListener("error", () => {
      if (stopped || source !== opened) return
      if (live) {
        live = false
        update({ mode: "polling" })
        scheduleIn(POLL_FLOOR_MS)
      }
      if (opened.readyState === EventSource.CLOSED) {
        streamFailures++
        // a server that never opened a stream for this board (none served here) is not asked for ever
        if (everOpened || streamFailures < STREAM_GIVE_UP_FAILURES) {
          reopenTimer = setTimeout(openStream, retryDelay(streamFailures))
        }
      }
    })
  }

  document.addEventListener("visibilitychange", onVisibilityChange)
  void refresh()
  openStream()

  return {
    refresh: () => void refresh(),
    loadMore: () => void loadMore(),
    stop() {
      stopped = true
      clearTimer()
      if (reopenTimer !== null) clearTimeout(reopenTimer)
      inFlight?.abort()
      source?.close()
      document.removeEventListener("visibilitychange", onVisibilityChange)
    },
  }
}

export interface UseLeaderboardOptions {
  client?: ApiClient
  pageSize?: number
  /** Subscribe to the board's event stream (default: when the browser has EventSource). */
  live?: boolean
}

export function streamUrl(board: string, period: Period): string {
  return `/v1/leaderboards/${encodeURIComponent(board)}/stream?period=${encodeURIComponent(period)}`
}

/** The state of every board period on screen, by boardKey(): one truth that the list, its member count and
 * the rank card beside it all read (the card derives from the same rows at the same as_of). */
export const leaderboardsAtom = atom<ReadonlyMap<string, LeaderboardState>>(new Map())

export function boardKey(board: string, period: Period): string {
  return `${board}\u0000${period}`
}

/** The state of a board period that a LiveBoard on screen holds (INITIAL_STATE when none does). */
export function useBoardState(board: string, period: Period): LeaderboardState {
  return useAtomValue(leaderboardsAtom).get(boardKey(board, period)) ?? INITIAL_STATE
}

/** Live top list of a board: first load, then kept current by the board's stream (events applied in place),
 * or polled at next_refresh_at while the stream is not open; load more, retry. */
export function useLeaderboard(
  board: string,
  period: Period,
  { client = api, pageSize = PAGE_SIZE, live = true }: UseLeaderboardOptions = {}
) {
  // State is kept per board and period, so switching shows the first-load state at once instead of the
  // previous board's rows.
  const key = boardKey(board, period)
  const state = useBoardState(board, period)
  const setStates = useSetAtom(leaderboardsAtom)
  const poller = useRef<ReturnType<typeof createPoller> | null>(null)

  useEffect(() => {
    const put = (next: LeaderboardState | null) =>
      setStates((states) => {
        const copy = new Map(states)
        if (next === null) copy.delete(key)
        else copy.set(key, next)
        return copy
      })
    const instance = createPoller({
      board,
      period,
      client,
      pageSize,
      onChange: put,
      streamUrl: live ? streamUrl(board, period) : null,
    })
    poller.current = instance
    return () => {
      instance.stop()
      put(null)
    }
  }, [key, board, period, client, pageSize, live, setStates])

  return {
    ...state,
    isStale: state.page !== null && state.error !== null,
    retry: () => poller.current?.refresh(),
    loadMore: () => poller.current?.loadMore(),
  }
}
