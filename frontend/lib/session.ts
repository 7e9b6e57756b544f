// Where the JWT pair lives. localStorage (not a cookie): the API reads a bearer
// header, the static export has no server to set an httpOnly cookie, and a
// session should survive reloads and new tabs. Access tokens are short-lived and
// refresh tokens rotate, which bounds what a leaked token is worth.

export interface StoredTokens {
  accessToken: string
  refreshToken: string
}

export interface TokenStore {
  get(): StoredTokens | null
  set(tokens: StoredTokens | null): void
}

const STORAGE_KEY = "leaderboard.session"
const listeners = new Set<() => void>()

function readStorage(): StoredTokens | null {
  if (typeof window === "undefined") return null
  try {
    const raw = window.localStorage.getItem(STORAGE_KEY)
    if (!raw) return null
    const parsed: unknown = JSON.parse(raw)
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      typeof (parsed as StoredTokens).accessToken === "string" &&
      typeof (parsed as StoredTokens).refreshToken === "string"
    ) {
      return parsed as StoredTokens
    }
  } catch {
    // A corrupt entry is treated as logged out.
  }
  return null
}

export const browserTokenStore: TokenStore = {
  get: readStorage,
  set(tokens) {
    if (typeof window === "undefined") return
    if (tokens) window.localStorage.setItem(STORAGE_KEY, JSON.stringify(tokens))
    else window.localStorage.removeItem(STORAGE_KEY)
    listeners.forEach((listener) => listener())
  },
}

export function subscribeTokens(listener: () => void): () => void {
  listeners.add(listener)
  const onStorage = (event: StorageEvent) => {
    if (event.key === STORAGE_KEY) listener()
  }
  window.addEventListener("storage", onStorage)
  return () => {
    listeners.delete(listener)
    window.removeEventListener("storage", onStorage)
  }
}

export function memoryTokenStore(initial: StoredTokens | null = null): TokenStore {
  let tokens = initial
  return {
    get: () => tokens,
    set: (next) => {
      tokens = next
    },
  }
}
