"use client"

import { useLayoutEffect, useRef, type RefObject } from "react"

/** How long a row takes to glide to its new place. */
export const FLIP_MS = 450
const FLIP_EASING = "cubic-bezier(0.2, 0, 0, 1)"

export function prefersReducedMotion(): boolean {
  return (
    typeof window !== "undefined" &&
    typeof window.matchMedia === "function" &&
    window.matchMedia("(prefers-reduced-motion: reduce)").matches
  )
}

/**
 * Rows that changed place since the last render glide from where they were (FLIP: First, Last, Invert, Play),
 * rows that just arrived fade in. Rows are the container's elements with `data-flip-key` (the member id, so a
 * row is the same element wherever it moves). Layout positions (offsetTop) ignore transforms, so a move that
 * lands during another one starts from the right place. Nothing moves when the user prefers reduced motion.
 */
export function useFlip(container: RefObject<HTMLElement | null>) {
  const last = useRef(new Map<string, number>())
  useLayoutEffect(() => {
    const root = container.current
    if (!root) return
    const animate = !prefersReducedMotion()
    const seenBefore = last.current
    const next = new Map<string, number>()
    for (const row of root.querySelectorAll<HTMLElement>("[data-flip-key]")) {
      const key = row.dataset.flipKey ?? ""
      const top = row.offsetTop
      next.set(key, top)
      if (!animate || typeof row.animate !== "function") continue
      const before = seenBefore.get(key)
      if (before !== undefined && before !== top) {
        for (const running of row.getAnimations()) running.cancel()
        row.animate([{ transform: `translateY(${before - top}px)` }, { transform: "translateY(0)" }], {
          duration: FLIP_MS,
          easing: FLIP_EASING,
        })
      } else if (before === undefined && seenBefore.size > 0) {
        row.animate([{ opacity: 0 }, { opacity: 1 }], { duration: FLIP_MS, easing: "ease-out" })
      }
    }
    last.current = next
  })
}
