"use client"

import { useEffect, useState } from "react"

import { LeaderboardTable } from "@/components/leaderboard-table"
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card"
import { Skeleton } from "@/components/ui/skeleton"
import { useBoardState } from "@/hooks/use-leaderboard"
import { api, type ApiClient } from "@/lib/api"
import { formatScore } from "@/lib/decimal"
import { memberInView } from "@/lib/live-board"
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
      asOf: string
      /** set while a refresh failed and the last good data is shown */
      staleReason?: string
    }
  | { status: "unranked"; key: string }
  | { status: "error"; message: string }

/** After the member's own write (a 202), re-read this long after it when the list does not carry the member.
 * On the stream the tick that applies the write sends an event (one without rows when the top did not change),
 * whose new as_of makes the card read at once; these re-reads cover polling and a read that raced that event. */
export const AFTER_WRITE_REREADS_MS = [1_000, 2_500, 5_000] as const

interface RankCardProps {
  board: Board
  period: Period
  userId: string
  /** Changes when the card must read again (the member's own write). */
  refreshKey?: string | null
  /** Date.now() of the member's last accepted write: read again until it lands (AFTER_WRITE_REREADS_MS). */
  wroteAt?: number | null
  aroundSize?: number
  client?: ApiClient
}

/**
 * The member's rank, score and the rows around them. While the board of the same period is on screen
 * (a LiveBoard holds it) and the member is in its rows, all of it comes from those rows: the same as_of, rank,
 * score and member count as the list beside it, updated by the same events. Otherwise it is read from the API
 * (a live member view, never older than the list) at each new as_of of the board, and again after the
 * member's own write until the write has landed.
 */
export function RankCard({
  board,
  period,
  userId,
  refreshKey,
  wroteAt,
  aroundSize = 3,
  client = api,
}: RankCardProps) {
  const boardState = useBoardState(board.id, period)
  const view = boardState.view
  const fromList = view ? memberInView(view, userId, aroundSize) : null
  // not in the rows of a board that has no more members: not ranked, as the list says
  const unrankedInList = view !== null && fromList === null && view.entries.length >= view.total
  const needsRead = !unrankedInList && (fromList === null || fromList.around === null)
  const [state, setState] = useState<RankState>({ status: "loading" })
  const [rereads, setRereads] = useState(0)
  const listAsOf = view?.asOf ?? null

  useEffect(() => {
    if (!wroteAt) return
    const timers = AFTER_WRITE_REREADS_MS.map((delay) =>
      setTimeout(() => setRereads((n) => n + 1), Math.max(0, wroteAt + delay - Date.now()))
    )
    return () => timers.forEach(clearTimeout)
  }, [wroteAt])

  useEffect(() => {
    if (!needsRead) return
    const controller = new AbortController()
    const key = `${board.id}|${period}|${userId}`
    const load = async () => {
      try {
        // The list endpoint answers an unranked member in `missing` (200), not with a 404 that the
        // browser would log as an error on every page of a new trader.
        const list = await client.getMembers(board.id, [userId], period, controller.signal)
        const member = list.entries.find((entry) => entry.user_id === userId)
        if (!member) {
          if (!controller.signal.aborted) setState({ status: "unranked", key })
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
          asOf: list.as_of,
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
  }, [needsRead, board.id, userId, period, aroundSize, client, refreshKey, listAsOf, rereads])

  const key = `${board.id}|${period}|${userId}`
  const read = "key" in state && state.key !== key ? ({ status: "loading" } as const) : state
  const shown: RankState = unrankedInList
    ? { status: "unranked", key }
    : fromList
      ? {
          status: "ranked",
          key,
          member: fromList.member,
          total: fromList.total,
          asOf: fromList.asOf,
          around: fromList.around
            ? { board: board.id, period, user_id: userId, entries: fromList.around, total: fromList.total, as_of: fromList.asOf }
            : read.status === "ranked" ? read.around : null,
          staleReason: boardState.error && boardState.page ? boardState.error.message : undefined,
        }
      : read

  return (
    <Card
      data-testid="my-rank-card"
      data-state={shown.status}
      data-source={fromList ? "list" : "api"}
      data-as-of={shown.status === "ranked" ? shown.asOf : undefined}
    >
      <CardHeader>
        <CardTitle>My rank</CardTitle>
        <CardDescription>
          {board.title} · {PERIOD_LABELS[period]}
        </CardDescription>
      </CardHeader>
      <CardContent className="flex flex-col gap-4">
        {shown.status === "loading" ? (
          <div className="grid grid-cols-3 gap-3">
            <Skeleton className="h-12" />
            <Skeleton className="h-12" />
            <Skeleton className="h-12" />
          </div>
        ) : null}
        {shown.status === "unranked" ? (
          <p className="text-sm text-muted-foreground" data-testid="my-rank-unranked">
            Not ranked yet. {board.kind === "game" ? "Post a score" : "Place a trade"} to join this
            board.
          </p>
        ) : null}
        {shown.status === "error" ? (
          <p className="text-sm text-destructive" role="alert">
            {shown.message}
          </p>
        ) : null}
        {shown.status === "ranked" ? (
          <>
            <dl className="grid grid-cols-2 gap-3 text-center">
              <Stat label="Rank" testId="my-rank">
                #{shown.member.rank}
                <span className="text-xs font-normal text-muted-foreground"> / {shown.total}</span>
              </Stat>
              <Stat label="Percentile" testId="my-percentile">
                {shown.member.percentile.toFixed(1)}
              </Stat>
              <Stat label="Score" testId="my-score" className="col-span-2">
                {formatScore(shown.member.score, board.unit, board.decimals)}
              </Stat>
            </dl>
            {shown.staleReason ? (
              <p className="text-xs text-muted-foreground" role="status" data-testid="my-rank-stale">
                Could not refresh ({shown.staleReason}); showing the last known rank.
              </p>
            ) : null}
            {shown.around && shown.around.entries.length > 0 ? (
              <LeaderboardTable
                board={board}
                entries={shown.around.entries}
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
