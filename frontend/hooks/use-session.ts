"use client"

import { useEffect } from "react"
import { atom, useAtomValue, useSetAtom } from "jotai"

import { api, isApiError, SESSION_EXPIRED_EVENT } from "@/lib/api"
import type { User } from "@/lib/schemas"
import { subscribeTokens } from "@/lib/session"

export type Session =
  | { status: "loading" }
  | { status: "anonymous" }
  | { status: "authenticated"; user: User }

export const sessionAtom = atom<Session>({ status: "loading" })

export function useSession(): Session {
  return useAtomValue(sessionAtom)
}

export function useSetSession() {
  return useSetAtom(sessionAtom)
}

/** Loads /v1/me whenever the stored tokens change. Mounted once, in Providers. */
export function useSessionSync(onExpired: () => void) {
  const setSession = useSetAtom(sessionAtom)

  useEffect(() => {
    let cancelled = false
    const load = () => {
      if (!api.tokens.get()) return setSession({ status: "anonymous" })
      api
        .me()
        .then((user) => !cancelled && setSession({ status: "authenticated", user }))
        .catch((error: unknown) => {
          if (cancelled) return
          // An unreachable API keeps the tokens: the session may still be valid.
          if (isApiError(error) && error.status === 401) api.tokens.set(null)
          setSession({ status: "anonymous" })
        })
    }
    load()
    const unsubscribe = subscribeTokens(load)
    window.addEventListener(SESSION_EXPIRED_EVENT, onExpired)
    return () => {
      cancelled = true
      unsubscribe()
      window.removeEventListener(SESSION_EXPIRED_EVENT, onExpired)
    }
  }, [setSession, onExpired])
}
