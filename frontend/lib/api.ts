// The only module that calls fetch and attaches tokens. Same origin: Flask serves
// the static export and the API, and `next dev` proxies /v1 to it.
import {
  isApiErrorBody,
  isTokenPair,
  type Accepted,
  type Action,
  type AroundMe,
  type Board,
  type Competition,
  type CompetitionMember,
  type CompetitionPage,
  type CompetitionResults,
  type CompetitionStatus,
  type Joined,
  type TeamEntry,
  type HistoryPage,
  type LeaderboardPage,
  type MemberList,
  type MemberRank,
  type Period,
  type RegisterInput,
  type ScoreInput,
  type SymbolInfo,
  type TokenPair,
  type TradeInput,
  type User,
} from "@/lib/schemas"
import { browserTokenStore, type TokenStore } from "@/lib/session"

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: Record<string, unknown>
  readonly retryAfter: number | null

  constructor(
    status: number,
    code: string,
    message: string,
    details: Record<string, unknown> = {},
    retryAfter: number | null = null
  ) {
    super(message)
    this.name = "ApiError"
    this.status = status
    this.code = code
    this.details = details
    this.retryAfter = retryAfter
  }

  /** The request field an error is about (`details.field`), if the API named one. */
  get field(): string | null {
    return typeof this.details.field === "string" ? this.details.field : null
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError
}

type Query = Record<string, string | number | null | undefined>

interface RequestOptions {
  method?: "GET" | "POST"
  query?: Query
  body?: unknown
  /** Attach the access token, and refresh it once on a 401. */
  auth?: boolean
  /** Send this exact bearer token (refresh and logout) instead of the access token. */
  bearer?: string
  signal?: AbortSignal
}

export interface ApiClientOptions {
  baseUrl?: string
  tokens?: TokenStore
  fetch?: typeof fetch
  /** Called when the session ended because the refresh token was refused. */
  onSessionExpired?: () => void
}

function buildUrl(baseUrl: string, path: string, query?: Query): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value))
  }
  const search = params.toString()
  return `${baseUrl}${path}${search ? `?${search}` : ""}`
}

function parseRetryAfter(response: Response): number | null {
  const header = response.headers.get("Retry-After")
  if (!header) return null
  const seconds = Number(header)
  return Number.isFinite(seconds) ? seconds : null
}

async function errorFromResponse(response: Response): Promise<ApiError> {
  let body: unknown = null
  try {
    body = await response.json()
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): fall back to the status line.
  }
  const retryAfter = parseRetryAfter(response)
  if (isApiErrorBody(body)) {
    const { code, message, details } = body.error
    return new ApiError(response.status, code, message, details ?? {}, retryAfter)
  }
  return new ApiError(
    response.status,
    "http_error",
    `The server answered ${response.status} ${response.statusText}`.trim(),
    {},
    retryAfter
  )
}

const seg = encodeURIComponent

export function createApiClient(options: ApiClientOptions = {}) {
  const baseUrl = options.baseUrl ?? ""
  const tokens = options.tokens ?? browserTokenStore
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  // One refresh at a time: refresh tokens rotate, so two parallel refreshes
  // with the same token would make the second one fail and log the user out.
  let refreshInFlight: Promise<boolean> | null = null

  async function send(path: string, opts: RequestOptions, bearer?: string): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json" }
    if (opts.body !== undefined) headers["Content-Type"] = "application/json"
    if (bearer) headers.Authorization = `Bearer ${bearer}`
    try {
      return await fetchImpl(buildUrl(baseUrl, path, opts.query), {
        method: opts.method ?? "GET",
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
      })
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error
      throw new ApiError(0, "network_error", "The leaderboard API cannot be reached.")
    }
  }

  async function refreshTokens(): Promise<boolean> {
    const current = tokens.get()
    if (!current) return false
    const response = await send("/v1/token/refresh", { method: "POST" }, current.refreshToken)
    if (!response.ok) {
      tokens.set(null)
      options.onSessionExpired?.()
      return false
    }
    const pair: unknown = await response.json()
    if (!isTokenPair(pair)) {
      tokens.set(null)
      options.onSessionExpired?.()
      return false
    }
    tokens.set({ accessToken: pair.access_token, refreshToken: pair.refresh_token })
    return true
  }

  function refreshOnce(): Promise<boolean> {
    refreshInFlight ??= refreshTokens()
      .catch(() => false)
      .finally(() => {
        refreshInFlight = null
      })
    return refreshInFlight
  }

  async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const bearer = opts.bearer ?? (opts.auth ? tokens.get()?.accessToken : undefined)
    let response = await send(path, opts, bearer)
    if (response.status === 401 && opts.auth && !opts.bearer && tokens.get()) {
      if (await refreshOnce()) {
        response = await send(path, opts, tokens.get()?.accessToken)
      } else {
        throw new ApiError(401, "session_expired", "Your session has expired. Please log in again.")
      }
    }
    if (!response.ok) throw await errorFromResponse(response)
    if (response.status === 204) return undefined as T
    return (await response.json()) as T
  }

  return {
    tokens,

    listBoards: (signal?: AbortSignal) =>
      request<{ boards: Board[] }>("/v1/leaderboards", { signal }).then((r) => r.boards),

    listSymbols: (signal?: AbortSignal) =>
      request<{ symbols: SymbolInfo[] }>("/v1/symbols", { signal }).then((r) => r.symbols),

    getLeaderboard: (
      board: string,
      params: { period: Period; limit?: number; cursor?: string | null },
      signal?: AbortSignal
    ) =>
      request<LeaderboardPage>(`/v1/leaderboards/${seg(board)}`, { query: params, signal }),

    getMember: (board: string, userId: string, period: Period, signal?: AbortSignal) =>
      request<MemberRank>(`/v1/leaderboards/${seg(board)}/members/${seg(userId)}`, {
        query: { period },
        signal,
      }),

    getMembers: (board: string, userIds: readonly string[], period: Period, signal?: AbortSignal) =>
      request<MemberList>(`/v1/leaderboards/${seg(board)}/members`, {
        query: { ids: userIds.join(","), period },
        signal,
      }),

    getAround: (
      board: string,
      userId: string,
      params: { period: Period; size?: number },
      signal?: AbortSignal
    ) =>
      request<AroundMe>(`/v1/leaderboards/${seg(board)}/members/${seg(userId)}/around`, {
        query: params,
        signal,
      }),

    getHistory: (
      board: string,
      date: string,
      params: { limit?: number; cursor?: string | null } = {},
      signal?: AbortSignal
    ) =>
      request<HistoryPage>(`/v1/leaderboards/${seg(board)}/history/${seg(date)}`, {
        query: params,
        signal,
      }),

    async login(username: string, password: string): Promise<void> {
      const pair = await request<TokenPair>("/v1/login", {
        method: "POST",
        body: { username, password },
      })
      tokens.set({ accessToken: pair.access_token, refreshToken: pair.refresh_token })
    },

    register: (input: RegisterInput) =>
      request<User>("/v1/auth/register", { method: "POST", body: input }),

    async logout(): Promise<void> {
      const current = tokens.get()
      tokens.set(null)
      if (!current) return
      try {
        await request("/v1/logout", { method: "POST", bearer: current.accessToken })
      } catch {
        // The local session is gone either way; an expired token needs no revoking.
      }
    },

    me: (signal?: AbortSignal) => request<User>("/v1/me", { auth: true, signal }),

    postTrade: (trade: TradeInput) =>
      request<Accepted>("/v1/trades", { method: "POST", body: trade, auth: true }),

    createAction: () => request<Action>("/v1/actions", { method: "POST", body: {}, auth: true }),

    postScore: (score: ScoreInput) =>
      request<Accepted>("/v1/scores", { method: "POST", body: score, auth: true }),

    listCompetitions: (status?: CompetitionStatus, signal?: AbortSignal) =>
      request<{ competitions: Competition[] }>("/v1/competitions", { query: { status }, signal }).then(
        (r) => r.competitions
      ),

    getCompetition: (id: string, signal?: AbortSignal) =>
      request<Competition>(`/v1/competitions/${seg(id)}`, { signal }),

    getCompetitionLeaderboard: (id: string, params: { limit?: number } = {}, signal?: AbortSignal) =>
      request<CompetitionPage>(`/v1/competitions/${seg(id)}/leaderboard`, { query: params, signal }),

    getCompetitionMember: (id: string, userId: string, signal?: AbortSignal) =>
      request<CompetitionMember>(`/v1/competitions/${seg(id)}/members/${seg(userId)}`, { signal }),

    getCompetitionResults: (id: string, signal?: AbortSignal) =>
      request<CompetitionResults>(`/v1/competitions/${seg(id)}/results`, { signal }),

    getCompetitionTeams: (id: string, signal?: AbortSignal) =>
      request<{ teams: TeamEntry[] }>(`/v1/competitions/${seg(id)}/teams`, { signal }).then((r) => r.teams),

    joinCompetition: (id: string) =>
      request<Joined>(`/v1/competitions/${seg(id)}/join`, { method: "POST", auth: true }),
  }
}

export type ApiClient = ReturnType<typeof createApiClient>

export const SESSION_EXPIRED_EVENT = "leaderboard:session-expired"

export const api: ApiClient = createApiClient({
  onSessionExpired: () => {
    if (typeof window !== "undefined") window.dispatchEvent(new Event(SESSION_EXPIRED_EVENT))
  },
})
