import "./navigation-mock"

import { render, screen } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { Provider as JotaiProvider } from "jotai"
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest"

import { CommandMenu } from "@/components/command-menu"
import { jsonResponse, pointsBoard, usdBoard } from "./helpers"
import { navigation } from "./navigation-mock"

beforeAll(() => {
  // cmdk measures and scrolls its list; jsdom has neither.
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  }
  Element.prototype.scrollIntoView ??= () => {}
})

afterEach(() => vi.unstubAllGlobals())

describe("CommandMenu", () => {
  it("opens on Ctrl+K and jumps to the chosen board, keeping the period", async () => {
    navigation.search = new URLSearchParams("board=btc&period=3d")
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL) =>
        String(input) === "/v1/leaderboards"
          ? jsonResponse({ boards: [usdBoard, pointsBoard] })
          : jsonResponse({ symbols: [] })
      )
    )
    const user = userEvent.setup()
    render(
      <JotaiProvider>
        <CommandMenu />
      </JotaiProvider>
    )
    expect(screen.queryByTestId("command-input")).not.toBeInTheDocument()

    await user.keyboard("{Control>}k{/Control}")
    const input = await screen.findByTestId("command-input")
    await screen.findByTestId("command-board-scores")
    await user.type(input, "scores")
    await user.keyboard("{Enter}")

    expect(navigation.push).toHaveBeenCalledWith("/?board=scores&period=3d")
    expect(screen.queryByTestId("command-input")).not.toBeInTheDocument()
  })
})
