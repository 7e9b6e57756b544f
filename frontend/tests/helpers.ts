import { vi } from "vitest"

import type { Board, Entry, LeaderboardPage } from "@/lib/schemas"

export const usdBoard: Board = {
  id: "btc",
  title: "BTC volume",
  unit: "USD",
  decimals: 2,
  mode: "sum",
  ties: "shared",
  kind: "symbol",
  symbol: "BTC",
  icon: null,
  periods: ["day", "24h", "3d", "7d", "all"],
}

export const pointsBoard: Board = {
  ...usdBoard,
  id: "scores",
  title: "Scores",
  unit: "points",
  decimals: 0,
  mode: "best",
  kind: "game",
  symbol: null,
}

export function entry(rank: number, userId: string, score: string): Entry {
  return { rank, user_id: userId, user_name: userId.toUpperCase(), score }
}

export function page(entries: Entry[], overrides: Partial<LeaderboardPage> = {}): LeaderboardPage {
  return {
    board: "btc",
    period: "day",
    as_of: "2026-11-21T12:00:00Z",
    next_refresh_at: "2026-11-21T12:01:00Z",
    resets_at: "2026-11-22T00:00:00Z",
    total: entries.length,
    entries,
    next_cursor: null,
    source: "snapshot",
    ...overrides,
  }
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  })
}

export function errorResponse(status: number, code: string, message: string, details = {}) {
  return jsonResponse({ error: { code, message, details } }, status)
}

/** A fetch mock answering from a queue of handlers, recording each request. */
export function mockFetch() {
  const queue: Array<(url: string, init: RequestInit) => Response | Promise<Response>> = []
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const handler = queue.shift()
    if (!handler) throw new Error(`Unexpected fetch ${String(input)}`)
    return handler(String(input), init)
  })
  vi.stubGlobal("fetch", fn)
  return {
    fn,
    next(handler: (url: string, init: RequestInit) => Response | Promise<Response>) {
      queue.push(handler)
      return this
    },
    reply(body: unknown, status = 200) {
      return this.next(() => jsonResponse(body, status))
    },
    fail() {
      return this.next(() => Promise.reject(new TypeError("Failed to fetch")))
    },
    get pending() {
      return queue.length
    },
  }
}
