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
  const [state, setState] = useState<HistoryState>({ status: "loading" })
  const [attempt, setAttempt] = useState(0)

  useEffect(() => {
    const controller = new AbortController()
    setState({ status: "loading" })
    client
      .getHistory(board, date, { limit: HISTORY_PAGE_SIZE }, controller.signal)
      .then((page) =>
        setState({ status: "ready", page, entries: page.entries, nextCursor: page.next_cursor, loadingMore: false })
      )
      .catch((error: unknown) => {
        if (controller.signal.aborted) return
        if (isApiError(error) && error.status === 404) return setState({ status: "missing" })
        setState({
          status: "error",
          error: isApiError(error) ? error : new ApiError(0, "unexpected_error", "Could not load the archive."),
        })
      })
    return () => controller.abort()
  }, [board, date, client, attempt])

  const loadMore = useCallback(async () => {
    if (state.status !== "ready" || !state.nextCursor || state.loadingMore) return
    const { nextCursor } = state
    setState({ ...state, loadingMore: true })
    try {
      const next = await client.getHistory(board, date, { limit: HISTORY_PAGE_SIZE, cursor: nextCursor })
      setState((current) =>
        current.status === "ready"
          ? { ...current, entries: [...current.entries, ...next.entries], nextCursor: next.next_cursor, loadingMore: false }
          : current
      )
    } catch {
      setState((current) => (current.status === "ready" ? { ...current, loadingMore: false } : current))
    }
  }, [state, client, board, date])

  const retry = useCallback(() => setAttempt((n) => n + 1), [])
  return { state, loadMore, retry }
}
