import { act, fireEvent, render, screen, within } from "@testing-library/react"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"

import { LiveBoard } from "@/components/live-board"
import { RankCard } from "@/components/rank-card"
import { entry, mockFetch, page, pointsBoard, usdBoard } from "./helpers"

const T0 = new Date("2026-11-21T12:00:05Z")

async function flush(ms = 0) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms)
  })
}

function rows() {
  const table = screen.queryByTestId("leaderboard-table")
  return table ? within(table).queryAllByTestId("leaderboard-row") : []
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

/** A stand-in for the browser's EventSource: the test sends the server's events by hand. */
class FakeEventSource extends EventTarget {
  static CONNECTING = 0
  static OPEN = 1
  static CLOSED = 2
  static opened: FakeEventSource[] = []
  readyState = FakeEventSource.OPEN
  constructor(readonly url: string) {
    super()
    FakeEventSource.opened.push(this)
  }
  send(type: string, data: unknown) {
    act(() => {
      this.dispatchEvent(new MessageEvent(type, { data: JSON.stringify(data) }))
    })
  }
  fail(closed = false) {
    if (closed) this.readyState = FakeEventSource.CLOSED
    act(() => {
      this.dispatchEvent(new Event("error"))
    })
  }
  close() {
    this.readyState = FakeEventSource.CLOSED
  }
}

describe("LiveBoard on the stream", () => {
  beforeEach(() => {
    FakeEventSource.opened = []
    vi.stubGlobal("EventSource", FakeEventSource)
  })

  const update = (asOf: string, total: number, rows: Array<[number, number | null, string, string]>, removed: string[] = []) => ({
    board: "btc", period: "day", as_of: asOf, total, removed, reset: false,
    rows: rows.map(([rank, previous, id, score]) => ({ rank, previous_rank: previous, user_id: id, user_name: id.toUpperCase(), score })),
  })

  it("applies the snapshot and the updates in place, without reading the list again", async () => {
    const api = mockFetch().reply(page([entry(1, "alice", "300"), entry(2, "bob", "200")]))
    const { rerender } = render(<LiveBoard board={usdBoard} period="day" />)
    await flush()
    // the card beside the board, once the board has rows (as the home page shows it)
    rerender(
      <>
        <LiveBoard board={usdBoard} period="day" />
        <RankCard board={usdBoard} period="day" userId="bob" />
      </>
    )
    const stream = FakeEventSource.opened[0]!
    expect(stream.url).toBe("/v1/leaderboards/btc/stream?period=day")
    stream.send("snapshot", page([entry(1, "alice", "300"), entry(2, "bob", "200"), entry(3, "carol", "100")], {
      as_of: "2026-11-21T12:00:01Z",
    }))
    expect(screen.getByTestId("live-badge")).toBeInTheDocument()
    expect(rows().map((r) => r.getAttribute("data-user-id"))).toEqual(["alice", "bob", "carol"])

    // bob overtakes alice, dave enters, carol leaves the top
    stream.send("update", update("2026-11-21T12:00:02Z", 4, [[1, 2, "bob", "400"], [2, 1, "alice", "300"], [3, null, "dave", "150"]], ["carol"]))
    expect(rows().map((r) => r.getAttribute("data-user-id"))).toEqual(["bob", "alice", "dave"])
    expect(within(rowOf("bob")).getByTestId("score-cell")).toHaveTextContent("$400.00")
    expect(within(rowOf("dave")).getByTestId("movement")).toHaveAttribute("data-movement", "new")
    expect(screen.getByTestId("total-members")).toHaveTextContent("4 members")
    expect(screen.getByTestId("total-members")).toHaveAttribute("data-as-of", "2026-11-21T12:00:02Z")

    // the card is the list's: same rank, score, total and as_of, no member read
    const card = screen.getByTestId("my-rank-card")
    expect(card).toHaveAttribute("data-source", "list")
    expect(card).toHaveAttribute("data-as-of", "2026-11-21T12:00:02Z")
    expect(within(card).getByTestId("my-rank")).toHaveTextContent("#1 / 4")
    expect(within(card).getByTestId("my-score")).toHaveTextContent("$400.00")

    // a replayed older event changes nothing
    stream.send("update", update("2026-11-21T12:00:01Z", 9, [[1, null, "zed", "999"]]))
    expect(rows().map((r) => r.getAttribute("data-user-id"))).toEqual(["bob", "alice", "dave"])
    await flush(120_000) // and no polling while the stream is open
    expect(api.fn).toHaveBeenCalledTimes(1)
  })

  it("reads the card of a trader below the stream's top again when an event without rows moves the as_of", async () => {
    const members = (score: string, asOf: string) => ({
      board: "btc", period: "day", total: 3, as_of: asOf, missing: [],
      entries: [{ rank: 3, user_id: "carol", user_name: "Carol", score, percentile: 33.33 }],
    })
    const around = (score: string, asOf: string) => ({
      board: "btc", period: "day", user_id: "carol", total: 3, as_of: asOf,
      entries: [entry(2, "bob", "200"), entry(3, "carol", score)],
    })
    const api = mockFetch().reply(page([entry(1, "alice", "300"), entry(2, "bob", "200")], { total: 3 }))
    const { rerender } = render(<LiveBoard board={usdBoard} period="day" pageSize={2} />)
    await flush()
    const stream = FakeEventSource.opened[0]!
    // the stream's top holds 2 rows; carol (3rd) is below it: her card is a member read
    stream.send("snapshot", page([entry(1, "alice", "300"), entry(2, "bob", "200")], {
      as_of: "2026-11-21T12:00:01Z", total: 3,
    }))
    api.reply(members("100", "2026-11-21T12:00:01Z")).reply(around("100", "2026-11-21T12:00:01Z"))
    rerender(
      <>
        <LiveBoard board={usdBoard} period="day" pageSize={2} />
        <RankCard board={usdBoard} period="day" userId="carol" />
      </>
    )
    await flush()
    const card = screen.getByTestId("my-rank-card")
    expect(within(card).getByTestId("my-score")).toHaveTextContent("$100.00")
    expect(api.fn).toHaveBeenCalledTimes(3)

    // carol's trade lands below the top: the tick's event has no rows, only the new as_of; the card reads again
    api.reply(members("150", "2026-11-21T12:00:02Z")).reply(around("150", "2026-11-21T12:00:02Z"))
    stream.send("update", update("2026-11-21T12:00:02Z", 3, []))
    await flush()
    expect(api.fn).toHaveBeenCalledTimes(5)
    expect(api.fn.mock.calls[3]?.[0]).toBe("/v1/leaderboards/btc/members?ids=carol&period=day")
    expect(within(card).getByTestId("my-score")).toHaveTextContent("$150.00")
    expect(rows().map((r) => r.getAttribute("data-user-id"))).toEqual(["alice", "bob"]) // the rows stay
    expect(screen.getByTestId("total-members")).toHaveAttribute("data-as-of", "2026-11-21T12:00:02Z")
  })

  it("shows more of the stream's rows without a request, and reads the list for rows past the stream's top", async () => {
    const api = mockFetch().reply(page([entry(1, "a", "30")], { total: 3, next_cursor: "p2" }))
    render(<LiveBoard board={usdBoard} period="day" pageSize={1} />)
    await flush()
    const stream = FakeEventSource.opened[0]!
    // the stream's top holds 2 of the 3 members
    stream.send("snapshot", page([entry(1, "a", "30"), entry(2, "b", "20")], {
      as_of: "2026-11-21T12:00:01Z", total: 3, next_cursor: "s3",
    }))
    expect(rows()).toHaveLength(1)
    fireEvent.click(screen.getByTestId("load-more"))
    await flush()
    expect(rows().map((r) => r.getAttribute("data-user-id"))).toEqual(["a", "b"])
    expect(api.fn).toHaveBeenCalledTimes(1) // the second row was the stream's already

    api.reply(page([entry(3, "c", "10")], { as_of: "2026-11-21T12:00:01Z", total: 3, next_cursor: null }))
    fireEvent.click(screen.getByTestId("load-more"))
    await flush()
    expect(api.fn.mock.calls[1]?.[0]).toBe("/v1/leaderboards/btc?period=day&limit=1&cursor=s3")
    expect(rows().map((r) => r.getAttribute("data-user-id"))).toEqual(["a", "b", "c"])
    expect(screen.queryByTestId("load-more")).not.toBeInTheDocument()

    // a change while rows past the stream's top are on screen: the shown pages are read again
    api
      .reply(page([entry(1, "c", "40")], { as_of: "2026-11-21T12:00:02Z", total: 3, next_cursor: "q2" }))
      .reply(page([entry(2, "a", "30")], { as_of: "2026-11-21T12:00:02Z", total: 3, next_cursor: "q3" }))
      .reply(page([entry(3, "b", "20")], { as_of: "2026-11-21T12:00:02Z", total: 3, next_cursor: null }))
    stream.send("update", update("2026-11-21T12:00:02Z", 3, [[1, null, "c", "40"], [2, 1, "a", "30"]], ["b"]))
    await flush()
    expect(api.fn).toHaveBeenCalledTimes(5)
    expect(rows().map((r) => r.getAttribute("data-user-id"))).toEqual(["c", "a", "b"])
  })

  it("offers Load more once the board grew past the stream's rows, and reads the list for them", async () => {
    const api = mockFetch().reply(page([entry(1, "a", "30"), entry(2, "b", "20")]))
    render(<LiveBoard board={usdBoard} period="day" pageSize={2} />)
    await flush()
    const stream = FakeEventSource.opened[0]!
    stream.send("snapshot", page([entry(1, "a", "30"), entry(2, "b", "20")], { as_of: "2026-11-21T12:00:01Z" }))
    expect(screen.queryByTestId("load-more")).not.toBeInTheDocument()
    // a third member enters at the top; the stream's top (2 rows) lets b go
    stream.send("update", update("2026-11-21T12:00:02Z", 3, [[1, null, "c", "40"], [2, 1, "a", "30"]], ["b"]))
    expect(rows().map((r) => r.getAttribute("data-user-id"))).toEqual(["c", "a"])
    api
      .reply(page([entry(1, "c", "40"), entry(2, "a", "30")], { as_of: "2026-11-21T12:00:02Z", total: 3, next_cursor: "n3" }))
      .reply(page([entry(3, "b", "20")], { as_of: "2026-11-21T12:00:02Z", total: 3, next_cursor: null }))
    fireEvent.click(screen.getByTestId("load-more"))
    await flush()
    expect(api.fn).toHaveBeenCalledTimes(3)
    expect(rows().map((r) => r.getAttribute("data-user-id"))).toEqual(["c", "a", "b"])
    expect(screen.queryByTestId("load-more")).not.toBeInTheDocument()
  })

  it("starts over at a new day (a reset event) and takes the new day's resets_at from one read", async () => {
    const api = mockFetch().reply(page([entry(1, "alice", "300"), entry(2, "bob", "200")]))
    render(<LiveBoard board={usdBoard} period="day" />)
    await flush()
    const stream = FakeEventSource.opened[0]!
    stream.send("snapshot", page([entry(1, "alice", "300"), entry(2, "bob", "200")], { as_of: "2026-11-21T12:00:01Z" }))
    api.reply(page([entry(1, "carol", "5")], {
      as_of: "2026-11-22T00:00:01Z", next_refresh_at: "2026-11-22T00:01:01Z", resets_at: "2026-11-23T00:00:00Z",
    }))
    stream.send("update", { ...update("2026-11-22T00:00:01Z", 1, [[1, null, "carol", "5"]]), reset: true })
    expect(rows().map((r) => r.getAttribute("data-user-id"))).toEqual(["carol"])
    await flush()
    expect(api.fn).toHaveBeenCalledTimes(2)
    expect(rows().map((r) => r.getAttribute("data-user-id"))).toEqual(["carol"])
    expect(screen.getByTestId("total-members")).toHaveTextContent("1 member")
  })

  it("stops asking for a stream the server never opened (refused 3 times), and keeps polling", async () => {
    mockFetch().reply(page([entry(1, "alice", "300")]))
    render(<LiveBoard board={usdBoard} period="day" />)
    await flush()
    for (let attempt = 0; attempt < 3; attempt++) {
      FakeEventSource.opened[attempt]!.fail(true)
      await flush(61_000)
    }
    expect(FakeEventSource.opened).toHaveLength(3)
    expect(screen.getByTestId("countdown")).toHaveAttribute("data-mode", "polling")
  })

  it("polls while the stream is down, and opens a new stream when the browser gave up on it", async () => {
    const api = mockFetch()
      .reply(page([entry(1, "alice", "300")]))
      .reply(page([entry(1, "alice", "310")], { as_of: "2026-11-21T12:00:10Z" }))
    render(<LiveBoard board={usdBoard} period="day" />)
    await flush()
    const first = FakeEventSource.opened[0]!
    first.send("snapshot", page([entry(1, "alice", "300")], { as_of: "2026-11-21T12:00:01Z" }))
    first.fail(true) // refused (e.g. 503 while the server stops): EventSource is closed for good
    expect(screen.getByTestId("countdown")).toHaveAttribute("data-mode", "polling")
    await flush(2_500)
    expect(api.fn).toHaveBeenCalledTimes(2)
    expect(within(rowOf("alice")).getByTestId("score-cell")).toHaveTextContent("$310.00")
    await flush(5_000)
    const second = FakeEventSource.opened[1]!
    expect(second).toBeDefined()
    second.send("snapshot", page([entry(1, "alice", "320")], { as_of: "2026-11-21T12:00:20Z" }))
    expect(screen.getByTestId("countdown")).toHaveAttribute("data-mode", "live")
    expect(within(rowOf("alice")).getByTestId("score-cell")).toHaveTextContent("$320.00")
  })
})
