import { describe, expect, it } from "vitest"

import { countdown, formatCompetitionScore, formatCountdown, groupCompetitions, prizeRanks } from "@/lib/competition"
import type { Competition } from "@/lib/schemas"

const base: Competition = {
  id: "cup",
  title: "Cup",
  metric: "volume",
  unit: "USD",
  decimals: 2,
  symbols: null,
  starts_at: "2026-12-01T00:00:00.000Z",
  ends_at: "2026-12-02T00:00:00.000Z",
  status: "live",
  time_left_seconds: 0,
  registration: "open",
  min_volume: null,
  prizes: [],
  ties: "first_reached",
  team_size: null,
  team_top_n: null,
  participants: 0,
  max_score: "1",
  board: "competition:cup",
}

describe("competition helpers", () => {
  it("formats countdowns with days only when there are any", () => {
    expect(formatCountdown(0)).toBe("00:00:00")
    expect(formatCountdown(3661.9)).toBe("01:01:01")
    expect(formatCountdown(2 * 86_400 + 5)).toBe("2d 00:00:05")
    expect(formatCountdown(-3)).toBe("00:00:00")
  })

  it("counts to the start of an upcoming competition and to the end of a live one", () => {
    const now = Date.parse("2026-12-01T23:00:00Z")
    expect(countdown(base, now)).toEqual({ label: "Ends in", seconds: 3600 })
    expect(countdown({ ...base, status: "upcoming" }, Date.parse("2026-11-30T23:59:00Z"))).toEqual({
      label: "Starts in",
      seconds: 60,
    })
    expect(countdown({ ...base, status: "finished" }, now)).toBeNull()
  })

  it("groups finalizing competitions with the finished ones", () => {
    const items = (["live", "upcoming", "finalizing", "finished"] as const).map((status) => ({ ...base, id: status, status }))
    const groups = groupCompetitions(items)
    expect(groups.live.map((c) => c.id)).toEqual(["live"])
    expect(groups.upcoming.map((c) => c.id)).toEqual(["upcoming"])
    expect(groups.finished.map((c) => c.id)).toEqual(["finalizing", "finished"])
  })

  it("formats exact decimal strings in the competition's unit, signs kept, none as a dash", () => {
    expect(formatCompetitionScore("1234567.5", "USD", 2)).toBe("$1,234,567.50")
    expect(formatCompetitionScore("-1234.5", "USD", 2)).toBe("-$1,234.50")
    expect(formatCompetitionScore("300", "points", 0)).toBe("300 pts")
    expect(formatCompetitionScore(null, "USD", 2)).toBe("—")
  })

  it("names a prize tier's ranks", () => {
    expect(prizeRanks({ from_rank: 1, to_rank: 1, prize: "x" })).toBe("#1")
    expect(prizeRanks({ from_rank: 2, to_rank: 10, prize: "x" })).toBe("#2–10")
  })
})
