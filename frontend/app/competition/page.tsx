import { Suspense } from "react"
import type { Metadata } from "next"

import { CompetitionDetail } from "@/components/competitions-view"

export const metadata: Metadata = { title: "Competition" }

// One static page for every competition (the export has no server): the id is the `id` query parameter.
export default function CompetitionPage() {
  return (
    <Suspense fallback={<p className="text-sm text-muted-foreground">Loading the competition…</p>}>
      <CompetitionDetail />
    </Suspense>
  )
}
