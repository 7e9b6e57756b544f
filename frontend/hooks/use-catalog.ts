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
  const [attempt, setAttempt] = useState(0)
  // Each result remembers its attempt: a retry shows "loading" until it settles.
  const [result, setResult] = useState<{ attempt: number; state: CatalogState } | null>(null)
  const state: CatalogState = result?.attempt === attempt ? result.state : { status: "loading" }

  useEffect(() => {
    let cancelled = false
    loadCatalog(client)
      .then((catalog) => !cancelled && setResult({ attempt, state: { status: "ready", catalog } }))
      .catch((error: unknown) => {
        if (cancelled) return
        const apiError = isApiError(error)
          ? error
          : new ApiError(0, "unexpected_error", "Could not load the boards.")
        setResult({ attempt, state: { status: "error", error: apiError } })
      })
    return () => {
      cancelled = true
    }
  }, [client, attempt])

  const retry = useCallback(() => setAttempt((n) => n + 1), [])
  return { state, retry }
}
