import { render, screen } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { afterEach, describe, expect, it, vi } from "vitest"

import { TradeTicket } from "@/components/trade-ticket"
import { createApiClient } from "@/lib/api"
import type { SymbolInfo } from "@/lib/schemas"
import { memoryTokenStore } from "@/lib/session"
import { errorResponse, jsonResponse, mockFetch } from "./helpers"

const symbols: SymbolInfo[] = [
  { symbol: "BTC", name: "Bitcoin", slug: "bitcoin", board: "btc", icon: "/assets/icons/btc.svg", price_decimals: 2, quantity_decimals: 4 },
  { symbol: "ETH", name: "Ether", slug: "ethereum", board: "eth", icon: "/assets/icons/eth.svg", price_decimals: 2, quantity_decimals: 3 },
]

function renderTicket() {
  const client = createApiClient({ tokens: memoryTokenStore({ accessToken: "a", refreshToken: "r" }) })
  const onAccepted = vi.fn()
  render(<TradeTicket traderId="alice" symbols={symbols} defaultSymbol="ETH" client={client} onAccepted={onAccepted} />)
  return { user: userEvent.setup(), onAccepted }
}

afterEach(() => vi.unstubAllGlobals())

describe("TradeTicket", () => {
  it("validates positive decimals and per-symbol decimals before sending", async () => {
    const fetchMock = mockFetch()
    const { user } = renderTicket()
    expect(screen.getByTestId("trade-symbol")).toHaveValue("ETH")

    await user.type(screen.getByTestId("trade-quantity"), "1.2345")
    await user.type(screen.getByTestId("trade-price"), "-3")
    await user.click(screen.getByTestId("trade-submit"))

    expect(screen.getByTestId("trade-quantity-error")).toHaveTextContent("At most 3 decimal places")
    expect(screen.getByTestId("trade-price-error")).toHaveTextContent("positive number")
    expect(screen.getByTestId("trade-quantity")).toHaveAttribute("aria-invalid", "true")
    expect(fetchMock.fn).not.toHaveBeenCalled()

    // BTC allows 4 quantity decimals: the same quantity becomes valid.
    await user.selectOptions(screen.getByTestId("trade-symbol"), "BTC")
    await user.clear(screen.getByTestId("trade-price"))
    await user.type(screen.getByTestId("trade-price"), "0")
    await user.click(screen.getByTestId("trade-submit"))
    expect(screen.queryByTestId("trade-quantity-error")).not.toBeInTheDocument()
    expect(screen.getByTestId("trade-price-error")).toHaveTextContent("greater than 0")
    expect(fetchMock.fn).not.toHaveBeenCalled()
  })

  it("posts the trade with string decimals and a fresh trade_id", async () => {
    const fetchMock = mockFetch().next(() => jsonResponse({ accepted: 1 }, 202))
    const { user, onAccepted } = renderTicket()

    await user.click(screen.getByTestId("trade-side-buy"))
    await user.keyboard("{ArrowRight}")
    expect(screen.getByTestId("trade-side-sell")).toHaveAttribute("aria-checked", "true")
    expect(screen.getByTestId("trade-side-sell")).toHaveFocus()
    await user.type(screen.getByTestId("trade-quantity"), "0.125")
    await user.type(screen.getByTestId("trade-price"), "3100.10")
    await user.click(screen.getByTestId("trade-submit"))

    await vi.waitFor(() => expect(onAccepted).toHaveBeenCalled())
    const [url, init] = fetchMock.fn.mock.calls[0] ?? []
    expect(url).toBe("/v1/trades")
    const body = JSON.parse(String(init?.body))
    expect(body).toMatchObject({
      trader_id: "alice",
      symbol: "ETH",
      side: "sell",
      quantity: "0.125",
      price: "3100.10",
    })
    expect(body.trade_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(screen.getByTestId("trade-quantity")).toHaveValue("")
  })

  it("shows the API's 422 under the field named in details.field", async () => {
    mockFetch().next(() =>
      errorResponse(422, "validation_error", "Invalid trade", {
        field: "price",
        reason: "price exceeds the allowed range",
      })
    )
    const { user, onAccepted } = renderTicket()

    await user.type(screen.getByTestId("trade-quantity"), "1")
    await user.type(screen.getByTestId("trade-price"), "99999999999")
    await user.click(screen.getByTestId("trade-submit"))

    expect(await screen.findByTestId("trade-price-error")).toHaveTextContent(
      "price exceeds the allowed range"
    )
    expect(screen.queryByTestId("trade-quantity-error")).not.toBeInTheDocument()
    expect(onAccepted).not.toHaveBeenCalled()
  })
})
