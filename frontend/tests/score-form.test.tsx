import { render, screen } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { afterEach, describe, expect, it, vi } from "vitest"

import { ScoreForm } from "@/components/score-form"
import { createApiClient } from "@/lib/api"
import { memoryTokenStore } from "@/lib/session"
import { errorResponse, jsonResponse, mockFetch, pointsBoard } from "./helpers"

afterEach(() => vi.unstubAllGlobals())

function renderForm() {
  const client = createApiClient({ tokens: memoryTokenStore({ accessToken: "a", refreshToken: "r" }) })
  const onAccepted = vi.fn()
  render(<ScoreForm board={pointsBoard} userId="alice" client={client} onAccepted={onAccepted} />)
  return { user: userEvent.setup(), onAccepted }
}

describe("ScoreForm", () => {
  it("gets an action, then posts the score tied to it", async () => {
    const fetchMock = mockFetch()
      .next(() => jsonResponse({ action_id: "act-1", expires_at: "2026-11-21T12:05:00Z" }, 201))
      .next(() => jsonResponse({ accepted: 1 }, 202))
    const { user, onAccepted } = renderForm()

    await user.type(screen.getByTestId("score-input"), "1200")
    await user.click(screen.getByTestId("score-submit"))

    await vi.waitFor(() => expect(onAccepted).toHaveBeenCalled())
    expect(fetchMock.fn.mock.calls.map(([url]) => url)).toEqual(["/v1/actions", "/v1/scores"])
    expect(JSON.parse(String(fetchMock.fn.mock.calls[1]?.[1]?.body))).toEqual({
      user_id: "alice",
      score: 1200,
      action_id: "act-1",
      board: "scores",
    })
  })

  it("rejects non-integers locally and explains a used action", async () => {
    const fetchMock = mockFetch()
      .next(() => jsonResponse({ action_id: "act-1", expires_at: "2026-11-21T12:05:00Z" }, 201))
      .next(() => errorResponse(409, "action_used", "used"))
    const { user, onAccepted } = renderForm()

    await user.type(screen.getByTestId("score-input"), "12.5")
    await user.click(screen.getByTestId("score-submit"))
    expect(screen.getByTestId("score-value-error")).toHaveTextContent("whole number")
    expect(fetchMock.fn).not.toHaveBeenCalled()

    await user.clear(screen.getByTestId("score-input"))
    await user.type(screen.getByTestId("score-input"), "10")
    await user.click(screen.getByTestId("score-submit"))
    expect(await screen.findByText(/already used/)).toBeInTheDocument()
    expect(onAccepted).not.toHaveBeenCalled()
  })
})
