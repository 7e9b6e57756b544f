"use client"

import { useEffect, useRef, useState } from "react"

import { api, ApiError, isApiError, type ApiClient } from "@/lib/api"
import { rankMovements, snapshotRanks, type Movement, type RankSnapshot } from "@/lib/movement"
import type { Entry, LeaderboardPage, Period } from "@/lib/schemas"

export const PAGE_SIZE = 50
/** Never poll more often than this, even if the API says the refresh is overdue. */
export const POLL_FLOOR_MS = 2_000
/** Never wait longer than this, whatever next_refresh_at says. */
export const POLL_CAP_MS = 120_000
/** Spread clients so they do not all hit the API the same millisecond. */
export const POLL_JITTER_MS = 750
const RETRY_BASE_MS = 5_000
const RETRY_CAP_MS = 60_000

export type LeaderboardStatus = "loading" | "ready" | "error" | "not-found"
/** "live": the board's event stream is open and drives the refreshes; "polling": it is not (yet, or it failed). */
export type LeaderboardMode = "live" | "polling"

export interface LeaderboardState {
  status: LeaderboardStatus
  /** Metadata of the newest first page: as_of, next_refresh_at, resets_at, total. */
  page: LeaderboardPage | null
  entries: Entry[]
  nextCursor: string | null
  movements: Map<string, Movement>
  /** The last failure; with `page` set it means the data on screen is stale. */
  error: ApiError | null
  isRefreshing: boolean
  isLoadingMore: boolean
  loadMoreError: ApiError | null
  mode: LeaderboardMode
}

const INITIAL_STATE: LeaderboardState = {
  status: "loading",
  page: null,
  entries: [],
  nextCursor: null,
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

interface PollerOptions {
  board: string
  period: Period
  client: ApiClient
  pageSize: number
  onChange: (state: LeaderboardState) => void
  /** The board's Server-Sent Events URL; null (or no EventSource in this browser): poll only. */
  streamUrl: string | null
}

/** Fetches a board and re-fetches it when the API says the snapshot changes. */
function createPoller({ board, period, client, pageSize, onChange, streamUrl }: PollerOptions) {
  let state = INITIAL_STATE
  let snapshot: RankSnapshot | null = null
  let pagesShown = 1
  let failures = 0
  let unchangedPolls = 0
  let generation = 0
  let dueAt: number | null = null
  let timer: ReturnType<typeof setTimeout> | null = null
  let inFlight: AbortController | null = null
  let stopped = false
  let source: EventSource | null = null
  let live = false

  const update = (patch: Partial<LeaderboardState>) => {
    state = { ...state, ...patch }
    if (!stopped) onChange(state)
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
    let cursor = first.next_cursor
    // Keep the rows a user already revealed with "Load more" on screen.
    for (let shown = 1; shown < pagesShown && cursor; shown++) {
      const next = await client.getLeaderboard(board, { period, limit: pageSize, cursor }, signal)
      entries.push(...next.entries)
      cursor = next.next_cursor
    }
    return { first, entries, cursor }
  }

  async function refresh() {
    clearTimer()
    inFlight?.abort()
    const controller = new AbortController()
    inFlight = controller
    update({ isRefreshing: true })
    try {
      const { first, entries, cursor } = await fetchShownPages(controller.signal)
      if (controller.signal.aborted || stopped) return
      // The same snapshot again carries no news: keep the arrows of the last change.
      const unchanged = state.page?.as_of === first.as_of
      unchangedPolls = unchanged ? unchangedPolls + 1 : 0
      const movements = unchanged ? state.movements : rankMovements(snapshot, entries)
      snapshot = snapshotRanks(entries)
      failures = 0
      generation++
      update({
        status: "ready",
        page: first,
        entries,
        nextCursor: cursor,
        movements,
        error: null,
        isRefreshing: false,
      })
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
    const cursor = state.nextCursor
    if (!cursor || state.isLoadingMore) return
    const startedAt = generation
    update({ isLoadingMore: true, loadMoreError: null })
    try {
      const next = await client.getLeaderboard(board, { period, limit: pageSize, cursor })
      // A refresh landed meanwhile: its cursors are different, so drop this page.
      if (stopped || generation !== startedAt) return update({ isLoadingMore: false })
      pagesShown++
      const entries = [...state.entries, ...next.entries]
      snapshot = snapshotRanks(entries)
      update({ entries, nextCursor: next.next_cursor, isLoadingMore: false })
    } catch (error) {
      update({ isLoadingMore: false, loadMoreError: toApiError(error) })
    }
  }

  const onVisibilityChange = () => {
    if (document.hidden) return clearTimer()
    if (dueAt !== null && dueAt <= Date.now()) void refresh()
    else arm()
  }

  /** The board's event stream: each event means a newer snapshot, so the list (and the rank card, which
   * follows its as_of) is fetched again at once. On an error the browser reconnects by itself (the server's
   * `retry:` advice, resuming with Last-Event-ID); meanwhile the list is polled as without a stream. */
  const openStream = () => {
    if (!streamUrl || typeof EventSource === "undefined") return
    source = new EventSource(streamUrl)
    const goLive = () => {
      if (stopped) return
      if (!live) {
        live = true
        update({ mode: "live" })
      }
      void refresh()
    }
    source.addEventListener("snapshot", goLive)
    source.addEventListener("update", goLive)
    source.addEventListener("error", () => {
      if (stopped || !live) return
      live = false
      update({ mode: "polling" })
      scheduleIn(POLL_FLOOR_MS)
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

/** Live top list of a board: first load, then refreshed on each event of the board's stream, or polled at
 * next_refresh_at while the stream is not open; load more, retry. */
export function useLeaderboard(
  board: string,
  period: Period,
  { client = api, pageSize = PAGE_SIZE, live = true }: UseLeaderboardOptions = {}
) {
  // State is tagged with the board and period it belongs to, so switching shows
  // the first-load state at once instead of the previous board's rows.
  const key = `${board}\u0000${period}`
  const [tagged, setTagged] = useState<{ key: string; state: LeaderboardState } | null>(null)
  const state = tagged?.key === key ? tagged.state : INITIAL_STATE
  const poller = useRef<ReturnType<typeof createPoller> | null>(null)

  useEffect(() => {
    const instance = createPoller({
      board,
      period,
      client,
      pageSize,
      onChange: (next) => setTagged({ key, state: next }),
      streamUrl: live ? streamUrl(board, period) : null,
    })
    poller.current = instance
    return () => instance.stop()
  }, [key, board, period, client, pageSize, live])

  return {
    ...state,
    isStale: state.page !== null && state.error !== null,
    retry: () => poller.current?.refresh(),
    loadMore: () => poller.current?.loadMore(),
  }
}
