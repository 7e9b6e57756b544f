import { Suspense } from "react"
import type { Metadata } from "next"

import { HistoryView } from "@/components/history-view"
import { LeaderboardTableSkeleton } from "@/components/leaderboard-table"

export const metadata: Metadata = { title: "History" }

export default function HistoryPage() {
  return (
    <Suspense fallback={<LeaderboardTableSkeleton />}>
      <HistoryView />
    </Suspense>
  )
}
