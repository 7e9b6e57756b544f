import { Suspense } from "react"

import { HomeView } from "@/components/home-view"
import { LeaderboardTableSkeleton } from "@/components/leaderboard-table"

export default function HomePage() {
  return (
    <Suspense fallback={<LeaderboardTableSkeleton />}>
      <HomeView />
    </Suspense>
  )
}
