import Link from "next/link"
import { AlertTriangleIcon, CloudOffIcon, RefreshCwIcon, SearchXIcon, TrophyIcon } from "lucide-react"

import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"
import { formatClock } from "@/lib/time"

export function ErrorBanner({
  message,
  onRetry,
  title = "The leaderboard API cannot be reached",
}: {
  message: string
  onRetry: () => void
  title?: string
}) {
  return (
    <Alert variant="destructive" data-testid="error-banner">
      <CloudOffIcon aria-hidden />
      <AlertTitle>{title}</AlertTitle>
      <AlertDescription>
        <p>{message}</p>
        <Button
          variant="outline"
          size="sm"
          className="mt-1 text-foreground"
          onClick={onRetry}
          data-testid="retry-button"
        >
          <RefreshCwIcon aria-hidden /> Retry
        </Button>
      </AlertDescription>
    </Alert>
  )
}

export function StaleBanner({
  asOf,
  message,
  onRetry,
}: {
  asOf: string
  message: string
  onRetry: () => void
}) {
  return (
    <Alert variant="warning" data-testid="stale-banner">
      <AlertTriangleIcon aria-hidden />
      <AlertTitle>Stale data: showing the board as of {formatClock(asOf)}</AlertTitle>
      <AlertDescription>
        <p data-testid="error-banner">
          {/[.!?]$/.test(message) ? message : `${message}.`} Retrying automatically.
        </p>
        <Button
          variant="outline"
          size="sm"
          className="mt-1 text-foreground"
          onClick={onRetry}
          data-testid="retry-button"
        >
          <RefreshCwIcon aria-hidden /> Retry now
        </Button>
      </AlertDescription>
    </Alert>
  )
}

export function EmptyState({ title, description }: { title: string; description: string }) {
  return (
    <div
      data-testid="empty-state"
      className="flex flex-col items-center justify-center gap-2 rounded-lg border border-dashed px-6 py-12 text-center"
    >
      <TrophyIcon className="size-8 text-muted-foreground" aria-hidden />
      <h3 className="font-medium">{title}</h3>
      <p className="max-w-sm text-sm text-muted-foreground">{description}</p>
    </div>
  )
}

export function NotFoundView({ title, description }: { title: string; description: string }) {
  return (
    <div
      data-testid="not-found"
      className="mx-auto flex max-w-md flex-col items-center gap-3 py-16 text-center"
    >
      <SearchXIcon className="size-10 text-muted-foreground" aria-hidden />
      <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
      <p className="text-muted-foreground">{description}</p>
      <Button asChild variant="outline">
        <Link href="/">Back to the live board</Link>
      </Button>
    </div>
  )
}
