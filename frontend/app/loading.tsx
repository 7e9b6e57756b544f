import { LeaderboardTableSkeleton } from "@/components/leaderboard-table"

export default function Loading() {
  return <LeaderboardTableSkeleton />
}
