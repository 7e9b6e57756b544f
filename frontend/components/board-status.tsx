"use client"

import { ClockIcon, RefreshCwIcon, TimerResetIcon } from "lucide-react"

import { useNow } from "@/hooks/use-now"
import type { LeaderboardPage } from "@/lib/schemas"
import { formatClock, formatHoursMinutes, secondsUntil } from "@/lib/time"
import { cn } from "@/lib/utils"

interface BoardStatusProps {
  page: Pick<LeaderboardPage, "as_of" | "next_refresh_at" | "resets_at" | "period">
  isRefreshing: boolean
  isStale: boolean
  /** "live" while the board's event stream is open: no countdown, changes arrive as they happen. */
  mode?: "live" | "polling"
}

/** "Updated hh:mm:ss", the API-driven refresh countdown and the daily reset. */
export function BoardStatus({ page, isRefreshing, isStale, mode = "polling" }: BoardStatusProps) {
  const now = useNow(1_000)
  const refreshIn = secondsUntil(page.next_refresh_at, now)
  const resetIn = page.resets_at ? secondsUntil(page.resets_at, now) : null

  return (
    <div className="flex flex-wrap items-center gap-x-4 gap-y-1 text-xs text-muted-foreground sm:text-sm">
      <span className="inline-flex items-center gap-1.5" data-testid="updated-at">
        <ClockIcon className="size-3.5" aria-hidden />
        Updated <time dateTime={page.as_of}>{formatClock(page.as_of)}</time>
      </span>
      <span
        className={cn("inline-flex items-center gap-1.5 tabular-nums", isStale && "text-amber-600 dark:text-amber-300")}
        data-testid="countdown"
        data-mode={mode}
        aria-live="off"
      >
        <RefreshCwIcon className={cn("size-3.5", isRefreshing && "animate-spin")} aria-hidden />
        {isStale
          ? "Stale, retrying"
          : mode === "live"
            ? <span className="inline-flex items-center gap-1.5 font-medium text-emerald-600 dark:text-emerald-400" data-testid="live-badge">
                <span className="size-2 rounded-full bg-current" aria-hidden />Live
              </span>
            : isRefreshing || refreshIn === 0
            ? "Refreshing…"
            : `Refreshing in ${refreshIn} s`}
      </span>
      {page.period === "day" && resetIn !== null ? (
        <span className="inline-flex items-center gap-1.5 tabular-nums" data-testid="day-reset">
          <TimerResetIcon className="size-3.5" aria-hidden />
          Day resets in {formatHoursMinutes(resetIn)}
        </span>
      ) : null}
    </div>
  )
}
