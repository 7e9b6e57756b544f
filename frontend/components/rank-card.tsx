"use client"

import { useEffect, useState } from "react"

import { LeaderboardTable } from "@/components/leaderboard-table"
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card"
import { Skeleton } from "@/components/ui/skeleton"
import { api, type ApiClient } from "@/lib/api"
import { formatScore } from "@/lib/decimal"
import { cn } from "@/lib/utils"
import { PERIOD_LABELS, type AroundMe, type Board, type MemberEntry, type Period } from "@/lib/schemas"

type RankState =
  | { status: "loading" }
  | {
      status: "ranked"
      /** board, period and member the data is for: a refresh that fails keeps the last good data of the same key */
      key: string
      member: MemberEntry
      total: number
      around: AroundMe | null
      /** set while a refresh failed and the last good data is shown */
      staleReason?: string
    }
  | { status: "unranked" }
  | { status: "error"; message: string }

interface RankCardProps {
  board: Board
  period: Period
  userId: string
  /** Changes with each board snapshot (its as_of), so the card refreshes with the table. */
  refreshKey?: string | null
  aroundSize?: number
  client?: ApiClient
}

export function RankCard({
  board,
  period,
  userId,
  refreshKey,
  aroundSize = 3,
  client = api,
}: RankCardProps) {
  const [state, setState] = useState<RankState>({ status: "loading" })

  useEffect(() => {
    const controller = new AbortController()
    const key = `${board.id}|${period}|${userId}`
    const load = async () => {
      try {
        // The list endpoint answers an unranked member in `missing` (200), not with a 404 that the
        // browser would log as an error on every page of a new trader.
        const list = await client.getMembers(board.id, [userId], period, controller.signal)
        const member = list.entries.find((entry) => entry.user_id === userId)
        if (!member) {
          if (!controller.signal.aborted) setState({ status: "unranked" })
          return
        }
        // The slice is a nice-to-have: the rank alone is still worth showing, and a slice that fails
        // to refresh keeps the last one rather than vanishing until the next snapshot.
        const around = await client
          .getAround(board.id, userId, { period, size: aroundSize }, controller.signal)
          .catch(() => null)
        if (controller.signal.aborted) return
        setState((previous) => ({
          status: "ranked",
          key,
          member,
          total: list.total,
          around: around ?? (previous.status === "ranked" && previous.key === key ? previous.around : null),
        }))
      } catch (error) {
        if (controller.signal.aborted) return
        const message = error instanceof Error ? error.message : "Could not load your rank."
        // a failed refresh (an outage, a restart) keeps the last good rank on screen, marked stale
        setState((previous) =>
          previous.status === "ranked" && previous.key === key
            ? { ...previous, staleReason: message }
            : { status: "error", message }
        )
      }
    }
    void load()
    return () => controller.abort()
  }, [board.id, userId, period, aroundSize, client, refreshKey])

  return (
    <Card data-testid="my-rank-card" data-state={state.status}>
      <CardHeader>
        <CardTitle>My rank</CardTitle>
        <CardDescription>
          {board.title} · {PERIOD_LABELS[period]}
        </CardDescription>
      </CardHeader>
      <CardContent className="flex flex-col gap-4">
        {state.status === "loading" ? (
          <div className="grid grid-cols-3 gap-3">
            <Skeleton className="h-12" />
            <Skeleton className="h-12" />
            <Skeleton className="h-12" />
          </div>
        ) : null}
        {state.status === "unranked" ? (
          <p className="text-sm text-muted-foreground" data-testid="my-rank-unranked">
            Not ranked yet. {board.kind === "game" ? "Post a score" : "Place a trade"} to join this
            board.
          </p>
        ) : null}
        {state.status === "error" ? (
          <p className="text-sm text-destructive" role="alert">
            {state.message}
          </p>
        ) : null}
        {state.status === "ranked" ? (
          <>
            <dl className="grid grid-cols-2 gap-3 text-center">
              <Stat label="Rank" testId="my-rank">
                #{state.member.rank}
                <span className="text-xs font-normal text-muted-foreground"> / {state.total}</span>
              </Stat>
              <Stat label="Percentile" testId="my-percentile">
                {state.member.percentile.toFixed(1)}
              </Stat>
              <Stat label="Score" testId="my-score" className="col-span-2">
                {formatScore(state.member.score, board.unit, board.decimals)}
              </Stat>
            </dl>
            {state.staleReason ? (
              <p className="text-xs text-muted-foreground" role="status" data-testid="my-rank-stale">
                Could not refresh ({state.staleReason}); showing the last known rank.
              </p>
            ) : null}
            {state.around && state.around.entries.length > 0 ? (
              <LeaderboardTable
                board={board}
                entries={state.around.entries}
                highlightUserId={userId}
                caption="Members around you"
                testId="around-me-table"
                compact
              />
            ) : null}
          </>
        ) : null}
      </CardContent>
    </Card>
  )
}

interface StatProps {
  label: string
  testId: string
  className?: string
  children: React.ReactNode
}

function Stat({ label, testId, className, children }: StatProps) {
  return (
    <div className={cn("rounded-lg bg-muted/50 px-2 py-2", className)}>
      <dt className="text-xs text-muted-foreground">{label}</dt>
      <dd className="truncate font-mono text-sm font-semibold tabular-nums sm:text-base" data-testid={testId}>
        {children}
      </dd>
    </div>
  )
}
