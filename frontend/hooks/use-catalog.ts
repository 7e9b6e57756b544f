"use client"

import { useCallback, useEffect, useState } from "react"

import { api, isApiError, ApiError, type ApiClient } from "@/lib/api"
import type { Board, SymbolInfo } from "@/lib/schemas"

export interface Catalog {
  boards: Board[]
  symbols: SymbolInfo[]
}

type CatalogState =
  | { status: "loading" }
  | { status: "ready"; catalog: Catalog }
  | { status: "error"; error: ApiError }

// The header's palette and the page both need the catalog: share one request.
const requests = new WeakMap<ApiClient, Promise<Catalog>>()

function loadCatalog(client: ApiClient): Promise<Catalog> {
  let request = requests.get(client)
  if (!request) {
    request = Promise.all([
      client.listBoards(),
      // Symbols only feed the trade ticket: boards still show without them.
      client.listSymbols().catch(() => [] as SymbolInfo[]),
    ]).then(([boards, symbols]) => ({ boards, symbols }))
    request.catch(() => requests.delete(client))
    requests.set(client, request)
  }
  return request
}

/** Boards and symbols, fetched once per page load, with a retry on failure. */
export function useCatalog(client: ApiClient = api) {
  const [state, setState] = useState<CatalogState>({ status: "loading" })
  const [attempt, setAttempt] = useState(0)

  useEffect(() => {
    let cancelled = false
    setState({ status: "loading" })
    loadCatalog(client)
      .then((catalog) => !cancelled && setState({ status: "ready", catalog }))
      .catch((error: unknown) => {
        if (cancelled) return
        const apiError = isApiError(error)
          ? error
          : new ApiError(0, "unexpected_error", "Could not load the boards.")
        setState({ status: "error", error: apiError })
      })
    return () => {
      cancelled = true
    }
  }, [client, attempt])

  const retry = useCallback(() => setAttempt((n) => n + 1), [])
  return { state, retry }
}
