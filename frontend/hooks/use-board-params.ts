"use client"

import { useCallback } from "react"
import { usePathname, useRouter, useSearchParams } from "next/navigation"

import { isPeriod, type Period } from "@/lib/schemas"

export const DEFAULT_BOARD = "all-volume"
export const DEFAULT_PERIOD: Period = "day"

/** Board, period and date live in the query string: the export has no dynamic routes. */
export function useBoardParams() {
  const router = useRouter()
  const pathname = usePathname()
  const params = useSearchParams()

  const rawPeriod = params.get("period")
  const period: Period = isPeriod(rawPeriod) ? rawPeriod : DEFAULT_PERIOD

  const setParams = useCallback(
    (changes: Record<string, string | null>) => {
      const next = new URLSearchParams(params.toString())
      for (const [key, value] of Object.entries(changes)) {
        if (value === null) next.delete(key)
        else next.set(key, value)
      }
      // push, not replace: Back returns to the previous board or period
      router.push(`${pathname}?${next.toString()}`, { scroll: false })
    },
    [params, pathname, router]
  )

  return {
    board: params.get("board"),
    period,
    date: params.get("date"),
    setParams,
  }
}

export function liveBoardHref(board: string, period: Period = DEFAULT_PERIOD): string {
  return `/?${new URLSearchParams({ board, period }).toString()}`
}
