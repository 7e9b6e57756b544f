import { ArrowDownIcon, ArrowUpIcon, MinusIcon, SparklesIcon } from "lucide-react"

import type { Movement } from "@/lib/movement"

/** Arrow showing how a row moved since the previous refresh. */
export function RankMovement({ movement }: { movement: Movement | undefined }) {
  if (!movement) return <span className="inline-block w-8" aria-hidden />
  switch (movement.kind) {
    case "up":
      return (
        <span
          data-testid="movement"
          data-movement="up"
          className="inline-flex w-8 items-center text-xs text-positive"
          title={`Up ${movement.by} since the last refresh`}
        >
          <ArrowUpIcon className="size-3.5" aria-hidden />
          {movement.by}
          <span className="sr-only">up {movement.by}</span>
        </span>
      )
    case "down":
      return (
        <span
          data-testid="movement"
          data-movement="down"
          className="inline-flex w-8 items-center text-xs text-negative"
          title={`Down ${movement.by} since the last refresh`}
        >
          <ArrowDownIcon className="size-3.5" aria-hidden />
          {movement.by}
          <span className="sr-only">down {movement.by}</span>
        </span>
      )
    case "new":
      return (
        <span
          data-testid="movement"
          data-movement="new"
          className="inline-flex w-8 items-center text-xs text-sky-600 dark:text-sky-400"
          title="New in the list since the last refresh"
        >
          <SparklesIcon className="size-3.5" aria-hidden />
          <span className="sr-only">new</span>
        </span>
      )
    default:
      return (
        <span
          data-testid="movement"
          data-movement="same"
          className="inline-flex w-8 items-center text-muted-foreground/60"
        >
          <MinusIcon className="size-3.5" aria-hidden />
          <span className="sr-only">unchanged</span>
        </span>
      )
  }
}
