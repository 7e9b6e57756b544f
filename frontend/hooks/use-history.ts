"use client"

import { useCallback, useEffect, useState } from "react"

import { api, ApiError, isApiError, type ApiClient } from "@/lib/api"
import type { Entry, HistoryPage } from "@/lib/schemas"

const HISTORY_PAGE_SIZE = 50

type HistoryState =
  | { status: "loading" }
  | { status: "ready"; page: HistoryPage; entries: Entry[]; nextCursor: string | null; loadingMore: boolean }
  | { status: "missing" }
  | { status: "error"; error: ApiError }

/** One archived day of a board, with "Load more". Archives never change: no polling. */
export function useHistory(board: string, date: string, client: ApiClient = api) {
  const [attempt, setAttempt] = useState(0)
  const key = `${board}|${date}|${attempt}`
  // Tagged with what it was loaded for, so a new board or date starts at "loading".
  const [tagged, setTagged] = useState<{ key: string; state: HistoryState } | null>(null)
  const state: HistoryState = tagged?.key === key ? tagged.state : { status: "loading" }

  useEffect(() => {
    const controller = new AbortController()
    const settle = (next: HistoryState) => setTagged({ key, state: next })
    client
      .getHistory(board, date, { limit: HISTORY_PAGE_SIZE }, controller.signal)
      .then((page) =>
        settle({ status: "ready", page, entries: page.entries, nextCursor: page.next_cursor, loadingMore: false })
      )
      .catch((error: unknown) => {
        if (controller.signal.aborted) return
        if (isApiError(error) && error.status === 404) return settle({ status: "missing" })
        settle({
          status: "error",
          error: isApiError(error) ? error : new ApiError(0, "unexpected_error", "Could not load the archive."),
        })
      })
    return () => controller.abort()
  }, [key, board, date, client])

  const loadMore = async () => {
    if (state.status !== "ready" || !state.nextCursor || state.loadingMore) return
    const update = (change: (current: Extract<HistoryState, { status: "ready" }>) => HistoryState) =>
      setTagged((current) =>
        current?.key === key && current.state.status === "ready"
          ? { key, state: change(current.state) }
          : current
      )
    update((current) => ({ ...current, loadingMore: true }))
    try {
      const next = await client.getHistory(board, date, { limit: HISTORY_PAGE_SIZE, cursor: state.nextCursor })
      update((current) => ({
        ...current,
        entries: [...current.entries, ...next.entries],
        nextCursor: next.next_cursor,
        loadingMore: false,
      }))
    } catch {
      update((current) => ({ ...current, loadingMore: false }))
    }
  }

  const retry = useCallback(() => setAttempt((n) => n + 1), [])
  return { state, loadMore, retry }
}
