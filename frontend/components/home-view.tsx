"use client"

import { useCallback, useState } from "react"
import Link from "next/link"

import { BoardIcon } from "@/components/board-icon"
import { BoardPicker } from "@/components/board-picker"
import { LeaderboardTableSkeleton } from "@/components/leaderboard-table"
import { LiveBoard } from "@/components/live-board"
import { PeriodTabs } from "@/components/period-tabs"
import { RankCard } from "@/components/rank-card"
import { ScoreForm } from "@/components/score-form"
import { ErrorBanner, NotFoundView } from "@/components/state-views"
import { TradeTicket } from "@/components/trade-ticket"
import { Card, CardContent, CardHeader } from "@/components/ui/card"
import { DEFAULT_BOARD, useBoardParams } from "@/hooks/use-board-params"
import { useCatalog } from "@/hooks/use-catalog"
import { useSession } from "@/hooks/use-session"
import { useBoardState } from "@/hooks/use-leaderboard"
import type { Board, Period } from "@/lib/schemas"

function resolveBoard(boards: readonly Board[], requested: string | null): Board | null {
  if (requested) return boards.find((board) => board.id === requested) ?? null
  return boards.find((board) => board.id === DEFAULT_BOARD) ?? boards[0] ?? null
}

export function HomeView() {
  const { board: requested, period, setParams } = useBoardParams()
  const { state: catalogState, retry } = useCatalog()
  const session = useSession()
  // The member's own writes: the rank card reads again until the write has landed (when the list does not
  // carry the member, whose rows it otherwise shows).
  const [wroteAt, setWroteAt] = useState<number | null>(null)
  const onAccepted = useCallback(() => setWroteAt(Date.now()), [])

  if (catalogState.status === "loading") {
    return (
      <Card>
        <CardContent>
          <LeaderboardTableSkeleton />
        </CardContent>
      </Card>
    )
  }
  if (catalogState.status === "error") {
    return (
      <ErrorBanner
        title="Could not load the boards"
        message={catalogState.error.message}
        onRetry={retry}
      />
    )
  }

  const { boards, symbols } = catalogState.catalog
  const board = resolveBoard(boards, requested)
  if (!board) {
    return (
      <NotFoundView
        title="Board not found"
        description={
          requested
            ? `There is no board called "${requested}". Press Ctrl K to search the boards.`
            : "The API has no boards yet."
        }
      />
    )
  }
  const periods = board.periods.length > 0 ? board.periods : undefined
  const activePeriod = periods && !periods.includes(period) ? periods[0]! : period
  const user = session.status === "authenticated" ? session.user : null
  const boardKey = `${board.id}:${activePeriod}`

  return (
    <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_22rem]">
      <Card className="min-w-0">
        <CardHeader className="gap-3">
          <div className="flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
            <h1 className="flex items-center gap-2 text-xl font-semibold tracking-tight">
              <BoardIcon board={board} className="size-6" />
              {board.title}
              <span className="text-sm font-normal text-muted-foreground">
                {board.unit} · {board.mode === "best" ? "best score" : "total"}
              </span>
            </h1>
            <BoardPicker
              boards={boards}
              value={board.id}
              onChange={(id) => setParams({ board: id, period: activePeriod })}
            />
          </div>
          <PeriodTabs
            periods={periods ?? ["day", "24h", "3d", "7d", "all"]}
            value={activePeriod}
            onChange={(next) => setParams({ board: board.id, period: next })}
          />
        </CardHeader>
        <CardContent>
          <LiveBoard
            key={boardKey}
            board={board}
            period={activePeriod}
            highlightUserId={user?.username}
          />
        </CardContent>
      </Card>
      {/* first on small screens: the rank card and the ticket are not below 50 rows */}
      <aside className="order-first flex min-w-0 flex-col gap-6 lg:order-none" aria-label="Your account">
        {user ? (
          <>
            <BoardRankCard board={board} period={activePeriod} userId={user.username} wroteAt={wroteAt} />
            {board.kind === "game" ? (
              <ScoreForm board={board} userId={user.username} onAccepted={onAccepted} />
            ) : (
              <TradeTicket
                key={board.id}
                traderId={user.username}
                symbols={symbols}
                defaultSymbol={board.symbol}
                onAccepted={onAccepted}
              />
            )}
          </>
        ) : session.status === "anonymous" ? (
          <Card>
            <CardContent className="text-sm text-muted-foreground">
              <Link href="/login/" className="font-medium text-foreground underline underline-offset-4">
                Log in
              </Link>{" "}
              to see your rank, post trades and scores.
            </CardContent>
          </Card>
        ) : null}
      </aside>
    </div>
  )
}

/** The rank card once the board beside it has its first rows (it derives from them, or reads at their as_of). */
function BoardRankCard({ board, period, userId, wroteAt }: { board: Board; period: Period; userId: string; wroteAt: number | null }) {
  const boardState = useBoardState(board.id, period)
  if (!boardState.view) return null
  return <RankCard board={board} period={period} userId={userId} refreshKey={String(wroteAt)} wroteAt={wroteAt} />
}
