"use client"

import { useRef } from "react"

import { RankMovement } from "@/components/rank-movement"
import { UserAvatar } from "@/components/user-avatar"
import { Skeleton } from "@/components/ui/skeleton"
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableRow,
} from "@/components/ui/table"
import { useFlip } from "@/hooks/use-flip"
import { formatScore } from "@/lib/decimal"
import type { Movement } from "@/lib/movement"

/** A row that moved or is new since the previous snapshot flashes once (globals.css `.row-moved`). */
function moved(movement: Movement | undefined): boolean {
  return movement !== undefined && movement.kind !== "same"
}
import type { Board, Entry } from "@/lib/schemas"
import { cn } from "@/lib/utils"

interface LeaderboardTableProps {
  board: Pick<Board, "unit" | "decimals" | "title">
  entries: readonly Entry[]
  movements?: ReadonlyMap<string, Movement>
  /** The signed-in user's id: their row is highlighted. */
  highlightUserId?: string | null
  caption?: string
  testId?: string
  /** Narrow layout for side cards: no avatars or handles, tighter columns. */
  compact?: boolean
}

function isTied(entries: readonly Entry[], index: number): boolean {
  const rank = entries[index]?.rank
  return entries[index - 1]?.rank === rank || entries[index + 1]?.rank === rank
}

export function LeaderboardTable({
  board,
  entries,
  movements,
  highlightUserId,
  caption,
  testId = "leaderboard-table",
  compact = false,
}: LeaderboardTableProps) {
  // rows are keyed by member: when the live board reorders them, each glides to its new place
  const table = useRef<HTMLTableElement>(null)
  useFlip(table)
  return (
    <Table ref={table} data-testid={testId} className="table-fixed">
      {caption ? <caption className="sr-only">{caption}</caption> : null}
      <TableHeader>
        <TableRow className="hover:bg-transparent">
          <TableHead className={compact ? "w-16" : "w-20 sm:w-24"}>Rank</TableHead>
          <TableHead>Trader</TableHead>
          <TableHead className={cn("text-right", compact ? "w-32" : "w-32 sm:w-48")}>Score</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {entries.map((entry, index) => {
          const isMe = highlightUserId != null && entry.user_id === highlightUserId
          const tied = isTied(entries, index)
          return (
            <TableRow
              key={entry.user_id}
              data-testid="leaderboard-row"
              data-user-id={entry.user_id}
              data-flip-key={entry.user_id}
              data-rank={entry.rank}
              data-current-user={isMe ? "true" : undefined}
              aria-current={isMe ? "true" : undefined}
              data-moved={moved(movements?.get(entry.user_id)) ? "true" : undefined}
              className={cn(
                "transition-colors",
                moved(movements?.get(entry.user_id)) && "row-moved",
                isMe && "bg-highlight hover:bg-highlight font-medium"
              )}
            >
              <TableCell>
                {/* the number first, right-aligned in a fixed width: ranks line up the same in every table,
                    with or without a movement mark */}
                <div className="flex items-center gap-1">
                  <RankNumber rank={entry.rank} title={tied ? `Tied at rank ${entry.rank}` : undefined} />
                  {movements ? <RankMovement movement={movements.get(entry.user_id)} /> : null}
                  {tied ? <span className="text-[10px] text-muted-foreground">tie</span> : null}
                </div>
              </TableCell>
              <TableCell className="overflow-hidden">
                <div className="flex min-w-0 items-center gap-2">
                  <UserAvatar
                    userId={entry.user_id}
                    name={entry.user_name}
                    className={cn("hidden size-7", !compact && "sm:inline-flex")}
                  />
                  <div className="min-w-0">
                    <div data-testid="name-cell" className="flex min-w-0 items-baseline">
                      <span className="truncate">{entry.user_name}</span>
                      {/* never cut: the name gives way */}
                      {isMe ? (
                        <span className="ml-1 shrink-0 text-xs text-muted-foreground" data-testid="you-label">
                          (you)
                        </span>
                      ) : null}
                    </div>
                    {!compact && entry.user_name !== entry.user_id ? (
                      <div className="hidden truncate text-xs text-muted-foreground sm:block">
                        @{entry.user_id}
                      </div>
                    ) : null}
                  </div>
                </div>
              </TableCell>
              <TableCell
                data-testid="score-cell"
                className={cn("text-right font-mono tabular-nums text-xs", !compact && "sm:text-sm")}
              >
                {formatScore(entry.score, board.unit, board.decimals)}
              </TableCell>
            </TableRow>
          )
        })}
      </TableBody>
    </Table>
  )
}

export function LeaderboardTableSkeleton({ rows = 8 }: { rows?: number }) {
  return (
    <div data-testid="leaderboard-skeleton" aria-busy="true" aria-label="Loading leaderboard" className="space-y-2 py-2">
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="flex items-center gap-3 px-2">
          <Skeleton className="h-5 w-10" />
          <Skeleton className="size-7 rounded-full" />
          <Skeleton className="h-5 flex-1" />
          <Skeleton className="h-5 w-24" />
        </div>
      ))}
    </div>
  )
}

/** A rank as every table shows it: right-aligned in a fixed width, so ranks line up from table to table. */
export function RankNumber({ rank, title }: { rank: number; title?: string }) {
  return (
    <span data-testid="rank-cell" className="inline-block min-w-[4ch] text-right font-mono tabular-nums" title={title}>
      {rank}
    </span>
  )
}
