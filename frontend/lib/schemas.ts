// Mirrors the Leaderboard API's JSON. Scores are decimal strings in major units:
// they are never converted to floats, so big values stay exact.

export const PERIODS = ["day", "24h", "3d", "7d", "all"] as const
export type Period = (typeof PERIODS)[number]

export const PERIOD_LABELS: Record<Period, string> = {
  day: "Today",
  "24h": "24h",
  "3d": "3d",
  "7d": "7d",
  all: "All time",
}

export type Role = "trader" | "service" | "admin"
export type BoardMode = "sum" | "best"
export type BoardTies = "shared" | "first_reached"
export type BoardKind = "symbol" | "aggregate" | "game"
export type Side = "buy" | "sell"

export interface ApiErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> }
}

export interface TokenPair {
  access_token: string
  refresh_token: string
  token_type: "Bearer"
  expires_in: number
}

export interface User {
  username: string
  display_name: string
  role: Role
}

export interface Board {
  id: string
  title: string
  unit: string
  decimals: number
  mode: BoardMode
  ties: BoardTies
  kind: BoardKind
  symbol: string | null
  icon: string | null
  periods: Period[]
}

export interface SymbolInfo {
  symbol: string
  name: string
  slug: string
  board: string
  icon: string
  price_decimals: number
  quantity_decimals: number
}

export interface Entry {
  rank: number
  user_id: string
  user_name: string
  score: string
  /** Only in lists of members (`members?ids=`). */
  percentile?: number
}

export type Source = "snapshot" | "live"

export interface LeaderboardPage {
  board: string
  period: Period
  as_of: string
  next_refresh_at: string
  /** Only on `day` lists: the next 00:00 UTC (no other period resets). */
  resets_at?: string
  total: number
  entries: Entry[]
  next_cursor: string | null
  /** "live": rebuilt from the boards because no fresh snapshot existed. */
  source: Source
}

export interface HistoryPage extends LeaderboardPage {
  date: string
}

export interface MemberRank {
  board: string
  period: Period
  user_id: string
  user_name: string
  rank: number
  score: string
  percentile: number
  total: number
  as_of: string
}

export interface MemberEntry extends Entry {
  percentile: number
}

/** Ranks of a list of members; ids without a score are in `missing` (no 404 for them). */
export interface MemberList {
  board: string
  period: Period
  entries: MemberEntry[]
  missing: string[]
  total: number
  as_of: string
}

export interface AroundMe {
  board: string
  period: Period
  user_id: string
  entries: Entry[]
  total: number
  as_of: string
}

/** A row of a live `update` event: its new rank, and its rank in the previous top (null: it just entered). */
export interface LiveRow {
  rank: number
  previous_rank: number | null
  user_id: string
  user_name: string
  score: string
}

/** The `update` event of GET /v1/leaderboards/{board}/stream: the rows of the live top that entered it or changed
 * score or name since the previous event (rows that only shifted are derived: lib/live-board.ts deriveTop), the ids
 * that left it, and the new as_of and total. `reset`: a new day, `rows` is the whole new top. */
export interface LiveUpdate {
  board: string
  period: string
  as_of: string
  total: number
  rows: LiveRow[]
  removed: string[]
  reset: boolean
}

// --- competitions ---
export type CompetitionStatus = "upcoming" | "live" | "finalizing" | "finished"
export type CompetitionMetric = "volume" | "pnl" | "roi" | "score"
export type Ties = "first_reached" | "shared"

export interface Prize {
  from_rank: number
  to_rank: number
  prize: string
}

export interface Competition {
  id: string
  title: string
  metric: CompetitionMetric
  unit: string
  decimals: number
  symbols: string[] | null
  starts_at: string
  ends_at: string
  status: CompetitionStatus
  /** Seconds to the start (upcoming) or to the end (live); 0 otherwise. */
  time_left_seconds: number
  registration: "open" | "none"
  min_volume: string | null
  prizes: Prize[]
  ties: Ties
  team_size: number | null
  team_top_n: number | null
  participants: number
  max_score: string
  board: string
}

export interface CompetitionEntry {
  rank: number
  user_id: string
  user_name: string
  score: string
  prize: string | null
}

export interface CompetitionPage {
  competition: string
  status: CompetitionStatus
  as_of: string
  total: number
  ties: Ties
  entries: CompetitionEntry[]
  next_cursor: string | null
}

export interface CompetitionMember {
  competition: string
  user_id: string
  user_name: string
  participant: boolean
  qualified: boolean
  disqualified: { reason: string; by: string; at: string } | null
  rank: number | null
  score: string | null
  volume: string
  /** Volume (USD) still needed to qualify. */
  to_qualify: string
  /** The prize this rank would win if the competition ended now. */
  prize: string | null
  team: string | null
  status: CompetitionStatus
}

export interface TeamEntry {
  rank: number
  team_id: string
  name: string
  members: string[]
  counted: number
  score: string
}

export interface CompetitionResults {
  competition: string
  title: string
  metric: string
  unit: string
  status: "finished"
  finalized_at: string
  starts_at: string
  ends_at: string
  ties: string
  total: number
  entries: CompetitionEntry[]
  prizes: Prize[]
  teams: TeamEntry[]
}

export interface Joined {
  competition: string
  user_id: string
  joined: boolean
}

export interface TradeInput {
  trade_id: string
  trader_id: string
  symbol: string
  side: Side
  quantity: string
  price: string
}

export interface Accepted {
  accepted: number
}

export interface Action {
  action_id: string
  expires_at: string
}

export interface ScoreInput {
  user_id: string
  score: number
  action_id: string
  board?: string
}

export interface RegisterInput {
  username: string
  password: string
  display_name?: string
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null
}

export function isPeriod(value: unknown): value is Period {
  return typeof value === "string" && (PERIODS as readonly string[]).includes(value)
}

export function isApiErrorBody(value: unknown): value is ApiErrorBody {
  return (
    isObject(value) &&
    isObject(value.error) &&
    typeof value.error.code === "string" &&
    typeof value.error.message === "string"
  )
}

export function isEntry(value: unknown): value is Entry {
  return (
    isObject(value) &&
    typeof value.rank === "number" &&
    typeof value.user_id === "string" &&
    typeof value.user_name === "string" &&
    typeof value.score === "string"
  )
}

export function isLeaderboardPage(value: unknown): value is LeaderboardPage {
  return (
    isObject(value) &&
    typeof value.board === "string" &&
    typeof value.as_of === "string" &&
    typeof value.next_refresh_at === "string" &&
    (value.resets_at === undefined || typeof value.resets_at === "string") &&
    typeof value.total === "number" &&
    Array.isArray(value.entries) &&
    value.entries.every(isEntry) &&
    (value.next_cursor === null || typeof value.next_cursor === "string")
  )
}

export function isTokenPair(value: unknown): value is TokenPair {
  return (
    isObject(value) &&
    typeof value.access_token === "string" &&
    typeof value.refresh_token === "string"
  )
}

function isLiveRow(value: unknown): value is LiveRow {
  return (
    isEntry(value) &&
    isObject(value) &&
    (value.previous_rank === null || typeof value.previous_rank === "number")
  )
}

export function isLiveUpdate(value: unknown): value is LiveUpdate {
  return (
    isObject(value) &&
    typeof value.as_of === "string" &&
    typeof value.total === "number" &&
    Array.isArray(value.rows) &&
    value.rows.every(isLiveRow) &&
    Array.isArray(value.removed) &&
    value.removed.every((id) => typeof id === "string") &&
    typeof value.reset === "boolean"
  )
}
