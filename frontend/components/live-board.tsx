"use client"

import { useEffect, useRef } from "react"
import { toast } from "sonner"

import { BoardStatus } from "@/components/board-status"
import { LeaderboardTable, LeaderboardTableSkeleton } from "@/components/leaderboard-table"
import { EmptyState, ErrorBanner, NotFoundView, StaleBanner } from "@/components/state-views"
import { Button } from "@/components/ui/button"
import { useLeaderboard, type UseLeaderboardOptions } from "@/hooks/use-leaderboard"
import type { ApiClient } from "@/lib/api"
import { PERIOD_LABELS, type Board, type Period } from "@/lib/schemas"

interface LiveBoardProps {
  board: Board
  period: Period
  highlightUserId?: string | null
  client?: ApiClient
  pageSize?: UseLeaderboardOptions["pageSize"]
}

export function LiveBoard({
  board,
  period,
  highlightUserId,
  client,
  pageSize,
}: LiveBoardProps) {
  const leaderboard = useLeaderboard(board.id, period, { client, pageSize })
  const { status, page, entries, error, isStale } = leaderboard

  const loadMoreError = leaderboard.loadMoreError
  const shownLoadMoreError = useRef(loadMoreError)
  useEffect(() => {
    if (loadMoreError && loadMoreError !== shownLoadMoreError.current) {
      toast.error("Could not load more rows", { description: loadMoreError.message })
    }
    shownLoadMoreError.current = loadMoreError
  }, [loadMoreError])

  if (status === "not-found") {
    return (
      <NotFoundView
        title="Board not found"
        description={`The API has no board called "${board.id}".`}
      />
    )
  }

  if (status === "loading" && !page) return <LeaderboardTableSkeleton />

  if (!page) {
    return (
      <ErrorBanner
        message={error?.message ?? "Something went wrong."}
        onRetry={leaderboard.retry}
      />
    )
  }

  return (
    <div className="flex flex-col gap-3">
      {isStale && error ? (
        <StaleBanner asOf={page.as_of} message={error.message} onRetry={leaderboard.retry} />
      ) : null}
      <div className="flex flex-wrap items-center justify-between gap-2">
        <BoardStatus page={page} isRefreshing={leaderboard.isRefreshing} isStale={isStale} mode={leaderboard.mode} />
        <span className="text-xs text-muted-foreground" data-testid="total-members" data-as-of={page.as_of}>
          {page.total.toLocaleString("en-US")} {page.total === 1 ? "member" : "members"}
        </span>
      </div>
      {entries.length === 0 ? (
        <EmptyState
          title="No one on this board yet"
          description={`Nobody has ${board.kind === "game" ? "scored" : "traded"} on ${board.title} for ${PERIOD_LABELS[period].toLowerCase()}. The first ${board.kind === "game" ? "score" : "trade"} will show up here.`}
        />
      ) : (
        <LeaderboardTable
          board={board}
          entries={entries}
          movements={leaderboard.movements}
          highlightUserId={highlightUserId}
          caption={`${board.title}, ${PERIOD_LABELS[period]}`}
        />
      )}
      {leaderboard.hasMore ? (
        <Button
          variant="outline"
          className="self-center"
          onClick={leaderboard.loadMore}
          disabled={leaderboard.isLoadingMore}
          data-testid="load-more"
        >
          {leaderboard.isLoadingMore ? "Loading…" : "Load more"}
        </Button>
      ) : null}
    </div>
  )
}
