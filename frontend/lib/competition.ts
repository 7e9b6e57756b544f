// Pure helpers of the competition pages (unit-tested in tests/competition.test.ts).
import { formatScore } from "@/lib/decimal"
import type { Competition, CompetitionStatus, Prize } from "@/lib/schemas"

const pad = (value: number) => String(value).padStart(2, "0")

/** A countdown as "2d 03:04:05" (days only when there are any). */
export function formatCountdown(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds))
  const days = Math.floor(seconds / 86_400)
  const rest = seconds % 86_400
  const clock = `${pad(Math.floor(rest / 3600))}:${pad(Math.floor((rest % 3600) / 60))}:${pad(rest % 60)}`
  return days > 0 ? `${days}d ${clock}` : clock
}

/** What the countdown counts to, and the seconds left at `now` (ms), from the competition's own times. */
export function countdown(
  competition: Pick<Competition, "status" | "starts_at" | "ends_at">,
  now: number
): { label: string; seconds: number } | null {
  if (competition.status === "upcoming") {
    return { label: "Starts in", seconds: Math.max(0, (Date.parse(competition.starts_at) - now) / 1000) }
  }
  if (competition.status === "live") {
    return { label: "Ends in", seconds: Math.max(0, (Date.parse(competition.ends_at) - now) / 1000) }
  }
  return null
}

export function prizeRanks(prize: Prize): string {
  return prize.from_rank === prize.to_rank ? `#${prize.from_rank}` : `#${prize.from_rank}–${prize.to_rank}`
}

export const STATUS_LABELS: Record<CompetitionStatus, string> = {
  upcoming: "Upcoming",
  live: "Live",
  finalizing: "Finalizing",
  finished: "Finished",
}

/** Sections of the competitions page: live, upcoming, then finished (finalizing ones with them). */
export function groupCompetitions(items: readonly Competition[]): {
  live: Competition[]
  upcoming: Competition[]
  finished: Competition[]
} {
  return {
    live: items.filter((c) => c.status === "live"),
    upcoming: items.filter((c) => c.status === "upcoming"),
    finished: items.filter((c) => c.status === "finalizing" || c.status === "finished"),
  }
}

/** A score (or null: none yet) in the competition's unit, exact: "$1,234.50", "-$12.00", "300 pts". */
export function formatCompetitionScore(value: string | null, unit: string, decimals: number): string {
  return value === null ? "—" : formatScore(value, unit, decimals)
}
