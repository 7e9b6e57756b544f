import { act, fireEvent, render, screen, within } from "@testing-library/react"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"

import { LiveBoard } from "@/components/live-board"
import { entry, mockFetch, page, pointsBoard, usdBoard } from "./helpers"

const T0 = new Date("2026-11-21T12:00:05Z")

async function flush(ms = 0) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms)
  })
}

function rows() {
  return screen.queryAllByTestId("leaderboard-row")
}

function rowOf(userId: string) {
  const row = rows().find((r) => r.getAttribute("data-user-id") === userId)
  if (!row) throw new Error(`no row for ${userId}`)
  return row
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] })
  vi.setSystemTime(T0)
})

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe("LiveBoard", () => {
  it("shows a skeleton on first load, then the formatted rows", async () => {
    const api = mockFetch().reply(
      page([entry(1, "alice", "1234567.8"), entry(2, "bob", "90071992547409.93")])
    )
    render(<LiveBoard board={usdBoard} period="day" />)
    expect(screen.getByTestId("leaderboard-skeleton")).toBeInTheDocument()

    await flush()
    expect(screen.queryByTestId("leaderboard-skeleton")).not.toBeInTheDocument()
    expect(rows()).toHaveLength(2)
    expect(within(rowOf("alice")).getByTestId("score-cell")).toHaveTextContent("$1,234,567.80")
    expect(within(rowOf("bob")).getByTestId("score-cell")).toHaveTextContent("$90,071,992,547,409.93")
    expect(api.fn.mock.calls[0]?.[0]).toBe("/v1/leaderboards/btc?period=day&limit=50")
  })

  it("formats points boards and shows shared ranks for ties", async () => {
    mockFetch().reply(
      page([entry(1, "ann", "1200"), entry(1, "ben", "1200"), entry(3, "cat", "900")], {
        board: "scores",
      })
    )
    render(<LiveBoard board={pointsBoard} period="all" />)
    await flush()
    const ranks = screen.getAllByTestId("rank-cell").map((cell) => cell.textContent)
    expect(ranks).toEqual(["1", "1", "3"])
    expect(within(rowOf("ben")).getByTestId("score-cell")).toHaveTextContent("1,200 pts")
    expect(within(rowOf("ann")).getByTitle("Tied at rank 1")).toBeInTheDocument()
    expect(within(rowOf("cat")).queryByText("tie")).not.toBeInTheDocument()
  })

  it("shows up, down and new arrows against the previous poll", async () => {
    const api = mockFetch()
      .reply(page([entry(1, "alice", "300"), entry(2, "bob", "200"), entry(3, "carol", "100")]))
      .reply(
        page([entry(1, "bob", "500"), entry(2, "alice", "300"), entry(3, "dave", "250")], {
          as_of: "2026-11-21T12:01:00Z",
          next_refresh_at: "2026-11-21T12:02:00Z",
        })
      )
    render(<LiveBoard board={usdBoard} period="day" />)
    await flush()
    // First load has no previous snapshot: no arrows yet.
    expect(screen.queryAllByTestId("movement")).toHaveLength(0)

    // The next poll happens at next_refresh_at (55 s away), not before.
    await flush(50_000)
    expect(api.fn).toHaveBeenCalledTimes(1)
    await flush(6_000)
    expect(api.fn).toHaveBeenCalledTimes(2)

    const movementOf = (id: string) =>
      within(rowOf(id)).getByTestId("movement").getAttribute("data-movement")
    expect(movementOf("bob")).toBe("up")
    expect(movementOf("alice")).toBe("down")
    expect(movementOf("dave")).toBe("new")
    expect(screen.queryByTestId("leaderboard-skeleton")).not.toBeInTheDocument()
  })

  it("counts down to the API's next_refresh_at", async () => {
    mockFetch().reply(
      page([entry(1, "alice", "1")], {
        as_of: "2026-11-21T11:59:30Z",
        next_refresh_at: "2026-11-21T12:00:35Z",
        resets_at: "2026-11-22T00:00:00Z",
      })
    )
    render(<LiveBoard board={usdBoard} period="day" />)
    await flush()
    expect(screen.getByTestId("countdown")).toHaveTextContent("Refreshing in 30 s")
    expect(screen.getByTestId("updated-at")).toHaveTextContent("Updated 11:59:30")
    expect(screen.getByTestId("day-reset")).toHaveTextContent("Day resets in 12:00")

    await flush(10_000)
    expect(screen.getByTestId("countdown")).toHaveTextContent("Refreshing in 20 s")
  })

  it("keeps the last rows and marks them stale when a refresh fails, and retry recovers", async () => {
    const api = mockFetch()
      .reply(page([entry(1, "alice", "10"), entry(2, "bob", "5")]))
      .fail()
    render(<LiveBoard board={usdBoard} period="day" />)
    await flush()
    expect(screen.queryByTestId("stale-banner")).not.toBeInTheDocument()

    await flush(60_000)
    expect(api.fn).toHaveBeenCalledTimes(2)
    expect(screen.getByTestId("stale-banner")).toHaveTextContent(/stale/i)
    expect(screen.getByTestId("error-banner")).toHaveTextContent("cannot be reached")
    expect(rows().map((r) => r.getAttribute("data-user-id"))).toEqual(["alice", "bob"])

    api.reply(page([entry(1, "carol", "99")], { as_of: "2026-11-21T12:01:10Z" }))
    fireEvent.click(screen.getByTestId("retry-button"))
    await flush()
    expect(api.fn).toHaveBeenCalledTimes(3)
    expect(screen.queryByTestId("stale-banner")).not.toBeInTheDocument()
    expect(rows().map((r) => r.getAttribute("data-user-id"))).toEqual(["carol"])
  })

  it("shows an error banner with retry when the first load fails", async () => {
    const api = mockFetch().fail().reply(page([entry(1, "alice", "10")]))
    render(<LiveBoard board={usdBoard} period="day" />)
    await flush()
    expect(screen.getByTestId("error-banner")).toBeInTheDocument()
    expect(rows()).toHaveLength(0)
    fireEvent.click(screen.getByTestId("retry-button"))
    await flush()
    expect(api.fn).toHaveBeenCalledTimes(2)
    expect(rows()).toHaveLength(1)
  })

  it("shows a friendly empty state for a board with no scores", async () => {
    mockFetch().reply(page([]))
    render(<LiveBoard board={usdBoard} period="7d" />)
    await flush()
    expect(screen.getByTestId("empty-state")).toHaveTextContent("No one on this board yet")
    expect(screen.getByTestId("empty-state")).toHaveTextContent("The first trade will show up here.")
    expect(screen.queryByTestId("leaderboard-table")).not.toBeInTheDocument()
  })

  it("words the empty state of a game board in scores, not trades", async () => {
    mockFetch().reply(page([], { board: "scores" }))
    render(<LiveBoard board={pointsBoard} period="day" />)
    await flush()
    const empty = screen.getByTestId("empty-state")
    expect(empty).toHaveTextContent("Nobody has scored on")
    expect(empty).toHaveTextContent("The first score will show up here.")
    expect(empty).not.toHaveTextContent("trade")
  })

  it("shows the not-found view when the API does not know the board", async () => {
    mockFetch().reply({ error: { code: "board_not_found", message: "nope", details: {} } }, 404)
    render(<LiveBoard board={{ ...usdBoard, id: "doge" }} period="day" />)
    await flush()
    expect(screen.getByTestId("not-found")).toHaveTextContent("Board not found")
  })

  it("appends the next page with Load more", async () => {
    const api = mockFetch()
      .reply(page([entry(1, "alice", "10")], { next_cursor: "c2", total: 2 }))
      .reply(page([entry(2, "bob", "5")], { next_cursor: null, total: 2 }))
    render(<LiveBoard board={usdBoard} period="day" />)
    await flush()
    fireEvent.click(screen.getByTestId("load-more"))
    await flush()
    expect(api.fn.mock.calls[1]?.[0]).toBe("/v1/leaderboards/btc?period=day&limit=50&cursor=c2")
    expect(rows().map((r) => r.getAttribute("data-user-id"))).toEqual(["alice", "bob"])
    expect(screen.queryByTestId("load-more")).not.toBeInTheDocument()
  })

  it("does not poll while the page is hidden and catches up when visible", async () => {
    const api = mockFetch()
      .reply(page([entry(1, "alice", "10")]))
      .reply(page([entry(1, "alice", "11")], { as_of: "2026-11-21T12:01:00Z" }))
    let hidden = false
    vi.spyOn(document, "hidden", "get").mockImplementation(() => hidden)
    render(<LiveBoard board={usdBoard} period="day" />)
    await flush()

    hidden = true
    act(() => {
      document.dispatchEvent(new Event("visibilitychange"))
    })
    await flush(120_000)
    expect(api.fn).toHaveBeenCalledTimes(1)

    hidden = false
    act(() => {
      document.dispatchEvent(new Event("visibilitychange"))
    })
    await flush()
    expect(api.fn).toHaveBeenCalledTimes(2)
  })
})

describe("nextPollDelay", () => {
  it("waits until next_refresh_at plus jitter, within the floor and the cap", async () => {
    const { nextPollDelay, POLL_CAP_MS, POLL_FLOOR_MS } = await import("@/hooks/use-leaderboard")
    const now = Date.parse("2026-11-21T12:00:00Z")
    expect(nextPollDelay("2026-11-21T12:00:30Z", now, 500)).toBe(30_500)
    expect(nextPollDelay("2026-11-21T11:59:00Z", now, 0)).toBe(POLL_FLOOR_MS)
    expect(nextPollDelay("2026-11-21T13:00:00Z", now, 0)).toBe(POLL_CAP_MS)
  })
})
