"use client"

import { BoardPicker } from "@/components/board-picker"
import { FormField } from "@/components/form-field"
import { LeaderboardTable, LeaderboardTableSkeleton } from "@/components/leaderboard-table"
import { EmptyState, ErrorBanner, NotFoundView } from "@/components/state-views"
import { Button } from "@/components/ui/button"
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card"
import { Input } from "@/components/ui/input"
import { DEFAULT_BOARD, useBoardParams } from "@/hooks/use-board-params"
import { useCatalog } from "@/hooks/use-catalog"
import { useHistory } from "@/hooks/use-history"
import { useSession } from "@/hooks/use-session"
import type { Board } from "@/lib/schemas"
import { isIsoDate, yesterdayUtc } from "@/lib/time"

export function HistoryView() {
  const { board: requested, date: requestedDate, setParams } = useBoardParams()
  const { state: catalogState, retry } = useCatalog()
  const date = isIsoDate(requestedDate) ? requestedDate : yesterdayUtc()

  if (catalogState.status === "loading") return <LeaderboardTableSkeleton />
  if (catalogState.status === "error") {
    return (
      <ErrorBanner title="Could not load the boards" message={catalogState.error.message} onRetry={retry} />
    )
  }
  const { boards } = catalogState.catalog
  const board = requested
    ? boards.find((b) => b.id === requested)
    : (boards.find((b) => b.id === DEFAULT_BOARD) ?? boards[0])
  if (!board) {
    return <NotFoundView title="Board not found" description={`There is no board called "${requested ?? ""}".`} />
  }

  return (
    <Card>
      <CardHeader className="gap-3">
        <div>
          <CardTitle className="text-xl">History</CardTitle>
          <CardDescription>The final board of a past UTC day.</CardDescription>
        </div>
        <div className="flex flex-col gap-3 sm:flex-row sm:items-end">
          <BoardPicker boards={boards} value={board.id} onChange={(id) => setParams({ board: id, date })} />
          <div className="sm:w-48">
            <FormField id="history-date" label="Date (UTC)">
              <Input
                id="history-date"
                type="date"
                data-testid="history-date"
                value={date}
                max={yesterdayUtc()}
                onChange={(event) => isIsoDate(event.target.value) && setParams({ board: board.id, date: event.target.value })}
              />
            </FormField>
          </div>
        </div>
      </CardHeader>
      <CardContent>
        <ArchivedBoard key={`${board.id}:${date}`} board={board} date={date} />
      </CardContent>
    </Card>
  )
}

function ArchivedBoard({ board, date }: { board: Board; date: string }) {
  const { state, loadMore, retry } = useHistory(board.id, date)
  const session = useSession()
  const me = session.status === "authenticated" ? session.user.username : null

  if (state.status === "loading") return <LeaderboardTableSkeleton />
  if (state.status === "error") return <ErrorBanner message={state.error.message} onRetry={retry} />
  if (state.status === "missing") {
    return (
      <EmptyState
        title={`No archive for ${date}`}
        description="Days are archived at midnight UTC. Pick an earlier date, or a day the board had activity."
      />
    )
  }
  if (state.entries.length === 0) {
    return (
      <EmptyState
        title={board.kind === "game" ? "Nobody scored that day" : "Nobody traded that day"}
        description={`${board.title} was empty on ${date}.`}
      />
    )
  }
  return (
    <div className="flex flex-col gap-3">
      <p className="text-sm text-muted-foreground" data-testid="history-summary">
        {board.title} on {date}: {state.page.total.toLocaleString("en-US")} members
      </p>
      <LeaderboardTable board={board} entries={state.entries} highlightUserId={me} caption={`${board.title} on ${date}`} />
      {state.nextCursor ? (
        <Button variant="outline" className="self-center" onClick={() => void loadMore()} disabled={state.loadingMore} data-testid="load-more">
          {state.loadingMore ? "Loading…" : "Load more"}
        </Button>
      ) : null}
    </div>
  )
}
