import { render, screen, waitFor, within } from "@testing-library/react"
import { afterEach, describe, expect, it, vi } from "vitest"

import { RankCard } from "@/components/rank-card"
import { entry, errorResponse, mockFetch, usdBoard } from "./helpers"

afterEach(() => vi.unstubAllGlobals())

describe("RankCard", () => {
  it("shows rank, score, percentile and the around-me slice with my row highlighted", async () => {
    const fetchMock = mockFetch()
      .reply({
        board: "btc",
        period: "7d",
        entries: [{ rank: 3, user_id: "carol", user_name: "Carol", score: "4500.5", percentile: 92.31 }],
        missing: [],
        total: 40,
        as_of: "2026-11-21T12:00:00Z",
      })
      .reply({
        board: "btc",
        period: "7d",
        user_id: "carol",
        total: 40,
        as_of: "2026-11-21T12:00:00Z",
        entries: [entry(2, "bob", "5000"), entry(3, "carol", "4500.5"), entry(4, "dave", "100")],
      })
    render(<RankCard board={usdBoard} period="7d" userId="carol" />)

    expect(await screen.findByTestId("my-rank")).toHaveTextContent("#3")
    expect(screen.getByTestId("my-rank")).toHaveTextContent("/ 40")
    expect(screen.getByTestId("my-score")).toHaveTextContent("$4,500.50")
    expect(screen.getByTestId("my-percentile")).toHaveTextContent("92.3")

    const around = screen.getByTestId("around-me-table")
    const rows = within(around).getAllByTestId("leaderboard-row")
    expect(rows.map((r) => r.getAttribute("data-user-id"))).toEqual(["bob", "carol", "dave"])
    expect(rows[1]).toHaveAttribute("data-current-user", "true")
    expect(rows[0]).not.toHaveAttribute("data-current-user")

    expect(fetchMock.fn.mock.calls[0]?.[0]).toBe("/v1/leaderboards/btc/members?ids=carol&period=7d")
    expect(fetchMock.fn.mock.calls[1]?.[0]).toBe(
      "/v1/leaderboards/btc/members/carol/around?period=7d&size=3"
    )
  })

  it("says 'not ranked yet' when the API lists the member as missing, without a failed request", async () => {
    const fetchMock = mockFetch().reply({
      board: "btc",
      period: "day",
      entries: [],
      missing: ["newbie"],
      total: 12,
      as_of: "2026-11-21T12:00:00Z",
    })
    render(<RankCard board={usdBoard} period="day" userId="newbie" />)

    expect(await screen.findByTestId("my-rank-unranked")).toHaveTextContent("Not ranked yet")
    expect(screen.queryByTestId("my-rank")).not.toBeInTheDocument()
    expect(screen.getByTestId("my-rank-card")).toHaveAttribute("data-state", "unranked")
    expect(fetchMock.fn).toHaveBeenCalledTimes(1) // no around-me for an unranked member
  })

  it("keeps the last rank and around-me rows on screen when a refresh fails, and says so", async () => {
    const members = (rank: number) => ({
      board: "btc",
      period: "day",
      entries: [{ rank, user_id: "carol", user_name: "Carol", score: "4500.5", percentile: 92.31 }],
      missing: [],
      total: 40,
      as_of: "2026-11-21T12:00:00Z",
    })
    const around = (rank: number) => ({
      board: "btc",
      period: "day",
      user_id: "carol",
      total: 40,
      as_of: "2026-11-21T12:00:00Z",
      entries: [entry(rank - 1, "bob", "5000"), entry(rank, "carol", "4500.5"), entry(rank + 1, "dave", "100")],
    })
    const rowsOf = () =>
      within(screen.getByTestId("around-me-table"))
        .getAllByTestId("leaderboard-row")
        .map((row) => row.getAttribute("data-user-id"))
    const fetchMock = mockFetch().reply(members(3)).reply(around(3))
    const { rerender } = render(<RankCard board={usdBoard} period="day" userId="carol" refreshKey="s1" />)
    expect(await screen.findByTestId("my-rank")).toHaveTextContent("#3")
    expect(rowsOf()).toEqual(["bob", "carol", "dave"])

    // next snapshot: the rank refreshes but the around-me call fails: the old rows stay
    fetchMock.reply(members(2)).next(() => errorResponse(503, "redis_unavailable", "Redis is unreachable"))
    rerender(<RankCard board={usdBoard} period="day" userId="carol" refreshKey="s2" />)
    await waitFor(() => expect(screen.getByTestId("my-rank")).toHaveTextContent("#2"))
    expect(rowsOf()).toEqual(["bob", "carol", "dave"])

    // the whole refresh fails: the last good rank stays, marked stale, not replaced by an error
    fetchMock.next(() => errorResponse(503, "redis_unavailable", "Redis is unreachable"))
    rerender(<RankCard board={usdBoard} period="day" userId="carol" refreshKey="s3" />)
    expect(await screen.findByTestId("my-rank-stale")).toHaveTextContent("Redis is unreachable")
    expect(screen.getByTestId("my-rank-card")).toHaveAttribute("data-state", "ranked")
    expect(screen.getByTestId("my-rank")).toHaveTextContent("#2")
    expect(rowsOf()).toEqual(["bob", "carol", "dave"])

    // back: fresh data, no stale note
    fetchMock.reply(members(1)).reply(around(2))
    rerender(<RankCard board={usdBoard} period="day" userId="carol" refreshKey="s4" />)
    await waitFor(() => expect(screen.getByTestId("my-rank")).toHaveTextContent("#1"))
    expect(screen.queryByTestId("my-rank-stale")).not.toBeInTheDocument()
    expect(fetchMock.pending).toBe(0)
  })

  it("shows the API's error when the rank cannot be loaded", async () => {
    mockFetch().next(() => errorResponse(503, "redis_unavailable", "Redis is unreachable"))
    render(<RankCard board={usdBoard} period="day" userId="carol" />)

    expect(await screen.findByRole("alert")).toHaveTextContent("Redis is unreachable")
    expect(screen.getByTestId("my-rank-card")).toHaveAttribute("data-state", "error")
  })
})
