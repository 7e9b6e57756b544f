import "./navigation-mock"

import { render, screen } from "@testing-library/react"
import { Provider as JotaiProvider } from "jotai"
import { afterEach, describe, expect, it, vi } from "vitest"

import { HistoryView } from "@/components/history-view"
import { entry, errorResponse, jsonResponse, page, usdBoard } from "./helpers"
import { navigation } from "./navigation-mock"

afterEach(() => vi.unstubAllGlobals())

function serve(history: (url: string) => Response) {
  const fetchMock = vi.fn(async (input: RequestInfo | URL) => {
    const url = String(input)
    if (url === "/v1/leaderboards") return jsonResponse({ boards: [usdBoard] })
    if (url === "/v1/symbols") return jsonResponse({ symbols: [] })
    return history(url)
  })
  vi.stubGlobal("fetch", fetchMock)
  return fetchMock
}

function renderHistory() {
  render(
    <JotaiProvider>
      <HistoryView />
    </JotaiProvider>
  )
}

describe("HistoryView", () => {
  it("shows the archived board of the date in the URL", async () => {
    navigation.search = new URLSearchParams("board=btc&date=2026-11-20")
    const fetchMock = serve(() => jsonResponse({ ...page([entry(1, "alice", "42.1")]), date: "2026-11-20" }))
    renderHistory()

    expect(await screen.findByTestId("score-cell")).toHaveTextContent("$42.10")
    expect(screen.getByTestId("history-date")).toHaveValue("2026-11-20")
    expect(fetchMock.mock.calls.map(([url]) => String(url))).toContain(
      "/v1/leaderboards/btc/history/2026-11-20?limit=50"
    )
  })

  it("says when a date has no archive", async () => {
    navigation.search = new URLSearchParams("board=btc&date=2020-01-01")
    serve(() => errorResponse(404, "archive_not_found", "no archive"))
    renderHistory()

    expect(await screen.findByTestId("empty-state")).toHaveTextContent("No archive for 2020-01-01")
  })
})
