import type { Metadata } from "next"

import { CompetitionsList } from "@/components/competitions-view"

export const metadata: Metadata = { title: "Competitions" }

export default function CompetitionsPage() {
  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-2xl font-semibold">Competitions</h1>
      <CompetitionsList />
    </div>
  )
}
