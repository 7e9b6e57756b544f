"use client"

import { useCallback, useEffect, useState } from "react"
import Link from "next/link"
import { useSearchParams } from "next/navigation"
import { toast } from "sonner"

import { RankNumber } from "@/components/leaderboard-table"
import { EmptyState, ErrorBanner, NotFoundView } from "@/components/state-views"
import { TradeTicket } from "@/components/trade-ticket"
import { Badge } from "@/components/ui/badge"
import { Button } from "@/components/ui/button"
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card"
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table"
import { useCatalog } from "@/hooks/use-catalog"
import { useNow } from "@/hooks/use-now"
import { useSession } from "@/hooks/use-session"
import { api, isApiError, type ApiError } from "@/lib/api"
import {
  countdown,
  formatCompetitionScore,
  formatCountdown,
  groupCompetitions,
  prizeRanks,
  STATUS_LABELS,
} from "@/lib/competition"
import type {
  Competition,
  CompetitionEntry,
  CompetitionMember,
  CompetitionPage,
  CompetitionResults,
  TeamEntry,
} from "@/lib/schemas"

/** How often a competition page re-reads its board and the trader's status while its stream is not open. */
export const COMPETITION_POLL_MS = 2_000
/** While the stream is open it says when the board changed; the page still re-reads this often (the status,
 * e.g. live -> finalizing, changes without a board event). */
export const COMPETITION_LIVE_POLL_MS = 30_000

/** The competition's Server-Sent Events URL (same origin as the API). */
export function competitionStreamUrl(id: string): string {
  return `/v1/competitions/${encodeURIComponent(id)}/stream`
}

/** Calls `load` now and every `intervalMs` while the tab is visible; returns a function to reload at once.
 * With `streamUrl` (and a browser with EventSource) each event of that stream calls `load` at once and, while the
 * stream is open, the polling slows to COMPETITION_LIVE_POLL_MS; when it fails (the browser reconnects by
 * itself, resuming with Last-Event-ID) the page polls every `intervalMs` again, as the board does. */
function usePolling(
  load: () => Promise<void>,
  intervalMs: number,
  streamUrl: string | null = null
): { reload: () => void; live: boolean } {
  const [tick, setTick] = useState(0)
  const [live, setLive] = useState(false)
  useEffect(() => {
    let isLive = false
    let lastLoad = Date.now()
    const run = () => {
      lastLoad = Date.now()
      void load()
    }
    run()
    const id = setInterval(() => {
      if (document.visibilityState !== "visible") return
      if (!isLive || Date.now() - lastLoad >= COMPETITION_LIVE_POLL_MS) run()
    }, intervalMs)
    let source: EventSource | null = null
    if (streamUrl && typeof EventSource !== "undefined") {
      source = new EventSource(streamUrl)
      const onEvent = () => {
        if (!isLive) {
          isLive = true
          setLive(true)
        }
        run()
      }
      source.addEventListener("snapshot", onEvent)
      source.addEventListener("update", onEvent)
      source.addEventListener("error", () => {
        if (!isLive) return
        isLive = false
        setLive(false)
      })
    }
    return () => {
      clearInterval(id)
      source?.close()
    }
  }, [load, intervalMs, streamUrl, tick])
  return { reload: useCallback(() => setTick((t) => t + 1), []), live }
}

function StatusBadge({ status }: { status: Competition["status"] }) {
  const variant = status === "live" ? "default" : status === "upcoming" ? "secondary" : "outline"
  return (
    <Badge variant={variant} data-testid="competition-status">
      {STATUS_LABELS[status]}
    </Badge>
  )
}

function Countdown({ competition }: { competition: Competition }) {
  const now = useNow(1_000)
  const left = countdown(competition, now)
  if (!left) return null
  return (
    <span className="font-mono tabular-nums" data-testid="countdown">
      {left.label} {formatCountdown(left.seconds)}
    </span>
  )
}

// --- the list ---
export function CompetitionsList() {
  const [items, setItems] = useState<Competition[] | null>(null)
  const [error, setError] = useState<ApiError | null>(null)
  const load = useCallback(async () => {
    try {
      setItems(await api.listCompetitions())
      setError(null)
    } catch (caught) {
      if (isApiError(caught)) setError(caught)
      else throw caught
    }
  }, [])
  const { reload } = usePolling(load, 10_000)

  if (error && !items) return <ErrorBanner title="Could not load the competitions" message={error.message} onRetry={reload} />
  if (!items) return <p className="text-sm text-muted-foreground">Loading competitions…</p>
  if (items.length === 0) {
    return <EmptyState title="No competitions yet" description="An admin creates them with POST /v1/competitions." />
  }
  const groups = groupCompetitions(items)
  return (
    <div className="flex flex-col gap-6" data-testid="competitions-list">
      {(["live", "upcoming", "finished"] as const).map((group) =>
        groups[group].length > 0 ? (
          <section key={group} className="flex flex-col gap-3" data-testid={`competitions-${group}`}>
            <h2 className="text-lg font-semibold">{STATUS_LABELS[group]}</h2>
            <div className="grid gap-3 sm:grid-cols-2">
              {groups[group].map((competition) => (
                <CompetitionCard key={competition.id} competition={competition} />
              ))}
            </div>
          </section>
        ) : null
      )}
    </div>
  )
}

function CompetitionCard({ competition }: { competition: Competition }) {
  const top = competition.prizes[0]
  return (
    <Link
      href={`/competition/?id=${encodeURIComponent(competition.id)}`}
      className="rounded-xl focus-visible:ring-[3px] focus-visible:ring-ring/60 focus-visible:outline-none"
      data-testid={`competition-card-${competition.id}`}
    >
      <Card className="h-full transition-colors hover:bg-muted/40">
        <CardHeader>
          <div className="flex items-center justify-between gap-2">
            <CardTitle className="text-base">{competition.title}</CardTitle>
            <StatusBadge status={competition.status} />
          </div>
          <CardDescription>
            {competition.metric} · {competition.participants.toLocaleString("en-US")}{" "}
            {competition.registration === "open" ? "participants" : "traders"}
            {top ? ` · ${prizeRanks(top)}: ${top.prize}` : ""}
          </CardDescription>
        </CardHeader>
        <CardContent className="text-sm text-muted-foreground">
          <Countdown competition={competition} />
        </CardContent>
      </Card>
    </Link>
  )
}

// --- one competition ---
interface Loaded {
  competition: Competition
  page: CompetitionPage
  me: CompetitionMember | null
  teams: TeamEntry[]
  results: CompetitionResults | null
}

export function CompetitionDetail() {
  const params = useSearchParams()
  const id = params.get("id") ?? ""
  const session = useSession()
  const username = session.status === "authenticated" ? session.user.username : null
  const [data, setData] = useState<Loaded | null>(null)
  const [error, setError] = useState<ApiError | null>(null)

  const load = useCallback(async () => {
    if (!id) return
    try {
      const competition = await api.getCompetition(id)
      const [page, me, teams, results] = await Promise.all([
        api.getCompetitionLeaderboard(id, { limit: 50 }),
        username ? api.getCompetitionMember(id, username) : Promise.resolve(null),
        competition.team_size ? api.getCompetitionTeams(id) : Promise.resolve([] as TeamEntry[]),
        competition.status === "finished" ? api.getCompetitionResults(id) : Promise.resolve(null),
      ])
      setData({ competition, page, me, teams, results })
      setError(null)
    } catch (caught) {
      if (isApiError(caught)) setError(caught)
      else throw caught
    }
  }, [id, username])
  const { reload, live } = usePolling(load, COMPETITION_POLL_MS, id ? competitionStreamUrl(id) : null)

  if (!id || error?.code === "competition_not_found") {
    return <NotFoundView title="Competition not found" description={`There is no competition called "${id}".`} />
  }
  if (error && !data) return <ErrorBanner title="Could not load the competition" message={error.message} onRetry={reload} />
  if (!data) return <p className="text-sm text-muted-foreground">Loading the competition…</p>
  const { competition, page, me, teams, results } = data

  return (
    <div className="flex flex-col gap-4">
      <Card>
        <CardHeader>
          <div className="flex flex-wrap items-center gap-3">
            <CardTitle className="text-xl" data-testid="competition-title">
              {competition.title}
            </CardTitle>
            <StatusBadge status={competition.status} />
            <span className="ml-auto text-sm text-muted-foreground">
              <Countdown competition={competition} />
            </span>
          </div>
          <CardDescription>
            Ranked by {competition.metric}
            {competition.symbols ? ` on ${competition.symbols.join(", ")}` : ""} ·{" "}
            {competition.participants.toLocaleString("en-US")} participants ·{" "}
            {competition.min_volume ? `qualify with ${formatCompetitionScore(competition.min_volume, "USD", 2)} volume · ` : ""}
            ties: {competition.ties === "first_reached" ? "first to reach the score ranks higher" : "shared"}
          </CardDescription>
        </CardHeader>
        {competition.prizes.length > 0 ? (
          <CardContent>
            <ul className="flex flex-wrap gap-2" data-testid="prize-tiers">
              {competition.prizes.map((prize) => (
                <li key={prize.from_rank} className="rounded-md border px-2 py-1 text-sm">
                  <span className="font-medium">{prizeRanks(prize)}</span> {prize.prize}
                </li>
              ))}
            </ul>
          </CardContent>
        ) : null}
      </Card>

      {results ? <FinalResults results={results} decimals={competition.decimals} /> : null}

      <div className="grid gap-4 lg:grid-cols-[1fr_20rem]">
        <Card>
          <CardHeader>
            <CardTitle className="text-base">{results ? "Board" : "Live leaderboard"}</CardTitle>
            <CardDescription>
              {page.total.toLocaleString("en-US")} ranked ·{" "}
              <span data-testid="competition-mode" data-mode={live ? "live" : "polling"}>
                {live ? "live" : `refreshes every ${COMPETITION_POLL_MS / 1000} s`}
              </span>
            </CardDescription>
          </CardHeader>
          <CardContent>
            {page.entries.length === 0 ? (
              <EmptyState title="Nobody ranks yet" description="Join and trade to appear here." />
            ) : (
              <RankTable entries={page.entries} unit={competition.unit} decimals={competition.decimals} me={username} testId="competition-board" />
            )}
          </CardContent>
        </Card>
        <div className="flex flex-col gap-4">
          <MyStatus competition={competition} me={me} signedIn={username !== null} onJoined={reload} />
          {username && competition.status === "live" && competition.metric === "volume" ? (
            <CompetitionTicket traderId={username} symbols={competition.symbols} onAccepted={reload} />
          ) : null}
        </div>
      </div>

      {competition.team_size ? <Teams teams={teams} unit={competition.unit} decimals={competition.decimals} /> : null}
    </div>
  )
}

function RankTable({
  entries,
  unit,
  decimals,
  me,
  testId,
}: {
  entries: readonly CompetitionEntry[]
  unit: string
  decimals: number
  me: string | null
  testId: string
}) {
  return (
    <Table data-testid={testId}>
      <TableHeader>
        <TableRow>
          <TableHead className="w-16">Rank</TableHead>
          <TableHead>Trader</TableHead>
          <TableHead className="text-right">Score</TableHead>
          <TableHead className="text-right">Prize</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {entries.map((entry) => (
          <TableRow
            key={entry.user_id}
            data-testid={`row-${entry.user_id}`}
            className={entry.user_id === me ? "bg-amber-500/10 font-medium" : undefined}
          >
            <TableCell>
              <RankNumber rank={entry.rank} />
            </TableCell>
            <TableCell>{entry.user_name}</TableCell>
            <TableCell className="text-right tabular-nums">{formatCompetitionScore(entry.score, unit, decimals)}</TableCell>
            <TableCell className="text-right">{entry.prize ?? ""}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  )
}

function MyStatus({
  competition,
  me,
  signedIn,
  onJoined,
}: {
  competition: Competition
  me: CompetitionMember | null
  signedIn: boolean
  onJoined: () => void
}) {
  const [joining, setJoining] = useState(false)
  const open = competition.status === "upcoming" || competition.status === "live"
  const join = async () => {
    setJoining(true)
    try {
      await api.joinCompetition(competition.id)
      toast.success(`You joined ${competition.title}`)
      onJoined()
    } catch (caught) {
      if (!isApiError(caught)) throw caught
      toast.error("Could not join", { description: caught.message })
    } finally {
      setJoining(false)
    }
  }
  return (
    <Card data-testid="my-status">
      <CardHeader>
        <CardTitle className="text-base">My status</CardTitle>
      </CardHeader>
      <CardContent className="flex flex-col gap-2 text-sm">
        {!signedIn ? (
          <p>
            <Link href="/login/" className="underline">
              Log in
            </Link>{" "}
            to join and see your rank.
          </p>
        ) : me ? (
          <>
            <dl className="grid grid-cols-2 gap-1">
              <dt className="text-muted-foreground">Rank</dt>
              <dd data-testid="my-rank">{me.rank !== null ? `#${me.rank}` : "—"}</dd>
              <dt className="text-muted-foreground">Score</dt>
              <dd data-testid="my-score">{formatCompetitionScore(me.score, competition.unit, competition.decimals)}</dd>
              <dt className="text-muted-foreground">{competition.status === "finished" ? "Prize" : "Prize if it ended now"}</dt>
              <dd data-testid="my-prize">{me.prize ?? "—"}</dd>
              {competition.min_volume ? (
                <>
                  <dt className="text-muted-foreground">To qualify</dt>
                  <dd data-testid="my-to-qualify">
                    {me.to_qualify === "0" || me.to_qualify === "0.00" ? "qualified" : formatCompetitionScore(me.to_qualify, "USD", 2)}
                  </dd>
                </>
              ) : null}
            </dl>
            {me.disqualified ? (
              <p className="text-destructive" data-testid="my-disqualified">
                Disqualified: {me.disqualified.reason}
              </p>
            ) : null}
            {!me.participant && open ? (
              <Button onClick={() => void join()} disabled={joining} data-testid="join-competition">
                {joining ? "Joining…" : "Join"}
              </Button>
            ) : me.participant && competition.registration === "open" ? (
              <p className="text-muted-foreground" data-testid="joined">
                You are in.
              </p>
            ) : null}
          </>
        ) : null}
      </CardContent>
    </Card>
  )
}

function CompetitionTicket({
  traderId,
  symbols,
  onAccepted,
}: {
  traderId: string
  symbols: string[] | null
  onAccepted: () => void
}) {
  const { state } = useCatalog()
  if (state.status !== "ready") return null
  const allowed = state.catalog.symbols.filter((s) => symbols === null || symbols.includes(s.symbol))
  // the trade is applied within a flush (~tens of ms): read the board again shortly after
  return <TradeTicket traderId={traderId} symbols={allowed} onAccepted={() => setTimeout(onAccepted, 300)} />
}

function FinalResults({ results, decimals }: { results: CompetitionResults; decimals: number }) {
  return (
    <Card data-testid="final-results">
      <CardHeader>
        <CardTitle className="text-base">Final results</CardTitle>
        <CardDescription>Frozen at {new Date(results.finalized_at).toUTCString()}</CardDescription>
      </CardHeader>
      <CardContent>
        {results.entries.length === 0 ? (
          <EmptyState title="Nobody qualified" description="The competition ended without a ranked participant." />
        ) : (
          <RankTable entries={results.entries} unit={results.unit} decimals={decimals} me={null} testId="results-table" />
        )}
      </CardContent>
    </Card>
  )
}

function Teams({ teams, unit, decimals }: { teams: readonly TeamEntry[]; unit: string; decimals: number }) {
  return (
    <Card data-testid="teams">
      <CardHeader>
        <CardTitle className="text-base">Teams</CardTitle>
      </CardHeader>
      <CardContent>
        {teams.length === 0 ? (
          <EmptyState title="No teams yet" description="Create one with POST /v1/competitions/{id}/teams." />
        ) : (
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead className="w-16">Rank</TableHead>
                <TableHead>Team</TableHead>
                <TableHead>Members</TableHead>
                <TableHead className="text-right">Score</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {teams.map((team) => (
                <TableRow key={team.team_id}>
                  <TableCell>
                    <RankNumber rank={team.rank} />
                  </TableCell>
                  <TableCell>{team.name}</TableCell>
                  <TableCell className="text-muted-foreground">{team.members.join(", ")}</TableCell>
                  <TableCell className="text-right tabular-nums">{formatCompetitionScore(team.score, unit, decimals)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </CardContent>
    </Card>
  )
}
