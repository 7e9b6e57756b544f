import { render } from "@testing-library/react"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"

import { LeaderboardTable } from "@/components/leaderboard-table"
import { entry, usdBoard } from "./helpers"

// jsdom lays nothing out and has no Web Animations: a row's offsetTop is its index x 40 px here, and
// Element.animate records what it is asked to play.
const ROW_PX = 40
const played: Array<{ user: string; keyframes: Keyframe[] }> = []

function prefersReducedMotion(reduce: boolean) {
  vi.stubGlobal("matchMedia", (query: string) => ({ matches: reduce && query.includes("reduce"), media: query }))
}

beforeEach(() => {
  played.length = 0
  Object.defineProperty(HTMLElement.prototype, "offsetTop", {
    configurable: true,
    get(this: HTMLElement) {
      return this.parentElement ? Array.prototype.indexOf.call(this.parentElement.children, this) * ROW_PX : 0
    },
  })
  Element.prototype.animate = function (this: HTMLElement, keyframes: Keyframe[]) {
    played.push({ user: this.dataset.flipKey ?? "", keyframes })
    return { cancel() {} } as Animation
  } as typeof Element.prototype.animate
  Element.prototype.getAnimations = () => []
})

afterEach(() => {
  // @ts-expect-error jsdom has none: remove the test's stand-ins
  delete HTMLElement.prototype.offsetTop
  // @ts-expect-error as above
  delete Element.prototype.animate
  // @ts-expect-error as above
  delete Element.prototype.getAnimations
  vi.unstubAllGlobals()
})

const table = (ids: string[]) => (
  <LeaderboardTable board={usdBoard} entries={ids.map((id, i) => entry(i + 1, id, String(100 - i)))} />
)

describe("rows glide to their new place (FLIP)", () => {
  it("plays a transform from the old place for each row that moved, a fade for a newcomer, nothing on first load", () => {
    prefersReducedMotion(false)
    const { rerender } = render(table(["a", "b", "c"]))
    expect(played).toEqual([])

    rerender(table(["b", "a", "c", "d"]))
    const moves = Object.fromEntries(played.map((p) => [p.user, p.keyframes[0]]))
    expect(moves).toEqual({
      a: { transform: `translateY(${-ROW_PX}px)` }, // was 40 px higher
      b: { transform: `translateY(${ROW_PX}px)` },
      d: { opacity: 0 },
    })
    expect(played.find((p) => p.user === "a")?.keyframes[1]).toEqual({ transform: "translateY(0)" })

    played.length = 0
    rerender(table(["b", "a", "c", "d"])) // same order: nothing moves
    expect(played).toEqual([])
  })

  it("moves nothing when the user prefers reduced motion", () => {
    prefersReducedMotion(true)
    const { rerender } = render(table(["a", "b", "c"]))
    rerender(table(["c", "b", "a"]))
    expect(played).toEqual([])
  })
})
