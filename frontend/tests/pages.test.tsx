import "./navigation-mock"

import { act, render, screen } from "@testing-library/react"
import userEvent from "@testing-library/user-event"
import { createStore, Provider as JotaiProvider } from "jotai"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"

import { LoginForm, RegisterForm } from "@/components/auth-forms"
import { HomeView } from "@/components/home-view"
import { sessionAtom } from "@/hooks/use-session"
import { createApiClient } from "@/lib/api"
import { memoryTokenStore } from "@/lib/session"
import { entry, errorResponse, jsonResponse, mockFetch, page, usdBoard } from "./helpers"
import { navigation } from "./navigation-mock"

beforeEach(() => {
  navigation.search = new URLSearchParams()
  navigation.push.mockReset()
  navigation.replace.mockReset()
})

afterEach(() => vi.unstubAllGlobals())

describe("HomeView", () => {
  function routeFetch(boards = [usdBoard]) {
    const fetchMock = vi.fn(async (input: RequestInfo | URL) => {
      const url = String(input)
      if (url === "/v1/leaderboards") return jsonResponse({ boards })
      if (url === "/v1/symbols") return jsonResponse({ symbols: [] })
      if (url.startsWith("/v1/leaderboards/btc?")) return jsonResponse(page([entry(1, "alice", "5")]))
      throw new Error(`unexpected ${url}`)
    })
    vi.stubGlobal("fetch", fetchMock)
    return fetchMock
  }

  it("renders the requested board and period from the query string", async () => {
    navigation.search = new URLSearchParams("board=btc&period=7d")
    const fetchMock = routeFetch()
    render(
      <JotaiProvider>
        <HomeView />
      </JotaiProvider>
    )
    expect(await screen.findByTestId("leaderboard-row")).toHaveAttribute("data-user-id", "alice")
    expect(screen.getByTestId("period-tab-7d")).toHaveAttribute("aria-selected", "true")
    expect(screen.getByTestId("board-picker")).toHaveTextContent("BTC volume")
    expect(fetchMock.mock.calls.map(([url]) => String(url))).toContain(
      "/v1/leaderboards/btc?period=7d&limit=50"
    )
  })

  it("switches period through the tabs, keeping the board in the URL", async () => {
    navigation.search = new URLSearchParams("board=btc")
    routeFetch()
    render(
      <JotaiProvider>
        <HomeView />
      </JotaiProvider>
    )
    await screen.findByTestId("leaderboard-row")
    const tab = screen.getByTestId("period-tab-day")
    act(() => tab.focus())
    await userEvent.keyboard("{ArrowRight}")
    expect(navigation.push).toHaveBeenCalledWith("/?board=btc&period=24h", { scroll: false })
    expect(navigation.replace).not.toHaveBeenCalled() // a history entry: Back returns to the previous period
  })

  it("shows the not-found view for a board the API does not list", async () => {
    navigation.search = new URLSearchParams("board=doge")
    routeFetch()
    render(
      <JotaiProvider>
        <HomeView />
      </JotaiProvider>
    )
    expect(await screen.findByTestId("not-found")).toHaveTextContent('no board called "doge"')
    expect(screen.queryByTestId("leaderboard-table")).not.toBeInTheDocument()
  })
})

describe("LoginForm", () => {
  it("stores the tokens and goes home on success", async () => {
    const tokens = memoryTokenStore()
    mockFetch().reply({ access_token: "a1", refresh_token: "r1", token_type: "Bearer", expires_in: 900 })
    const user = userEvent.setup()
    render(<LoginForm client={createApiClient({ tokens })} />)

    await user.type(screen.getByTestId("login-username"), "alice")
    await user.type(screen.getByTestId("login-password"), "secret-pw")
    await user.click(screen.getByTestId("login-submit"))

    await vi.waitFor(() => expect(navigation.push).toHaveBeenCalledWith("/"))
    expect(tokens.get()).toEqual({ accessToken: "a1", refreshToken: "r1" })
  })

  it("explains bad credentials and rate limiting", async () => {
    mockFetch()
      .next(() => errorResponse(401, "invalid_credentials", "bad"))
      .next(() =>
        jsonResponse({ error: { code: "rate_limited", message: "slow", details: {} } }, 429, { "Retry-After": "42" })
      )
    const user = userEvent.setup()
    render(<LoginForm client={createApiClient({ tokens: memoryTokenStore() })} />)

    await user.type(screen.getByTestId("login-username"), "alice")
    await user.type(screen.getByTestId("login-password"), "wrong")
    await user.click(screen.getByTestId("login-submit"))
    expect(await screen.findByTestId("login-error")).toHaveTextContent("Wrong username or password.")

    await user.click(screen.getByTestId("login-submit"))
    await vi.waitFor(() => expect(screen.getByTestId("login-error")).toHaveTextContent("Try again in 42 s"))
    expect(navigation.push).not.toHaveBeenCalled()
  })
})

describe("LoginForm while logged in", () => {
  it("says who is logged in instead of asking again, and still lets another account log in", async () => {
    const store = createStore()
    store.set(sessionAtom, { status: "authenticated", user: { username: "alice", display_name: "Alice", role: "trader" } })
    const user = userEvent.setup()
    render(
      <JotaiProvider store={store}>
        <LoginForm client={createApiClient({ tokens: memoryTokenStore() })} />
      </JotaiProvider>
    )
    expect(screen.getByTestId("already-logged-in")).toHaveTextContent("You are logged in")
    expect(screen.getByTestId("already-logged-in")).toHaveTextContent("@alice")
    expect(screen.queryByTestId("login-form")).not.toBeInTheDocument()
    await user.click(screen.getByTestId("login-as-someone-else"))
    expect(screen.getByTestId("login-form")).toBeInTheDocument()
  })
})

describe("RegisterForm", () => {
  it("checks the password rule before sending anything", async () => {
    const api = mockFetch()
    const user = userEvent.setup()
    render(<RegisterForm client={createApiClient({ tokens: memoryTokenStore() })} />)

    await user.type(screen.getByTestId("register-username"), "newbie")
    await user.type(screen.getByTestId("register-password"), "short")
    await user.click(screen.getByTestId("register-submit"))

    expect(screen.getByTestId("register-password-error")).toHaveTextContent("At least 8 characters.")
    expect(api.fn).not.toHaveBeenCalled()
  })

  it("shows a closed-registration message on 403 registration_disabled", async () => {
    mockFetch().next(() => errorResponse(403, "registration_disabled", "Registration is disabled"))
    const user = userEvent.setup()
    render(<RegisterForm client={createApiClient({ tokens: memoryTokenStore() })} />)

    await user.type(screen.getByTestId("register-username"), "newbie")
    await user.type(screen.getByTestId("register-password"), "long-password")
    await user.click(screen.getByTestId("register-submit"))

    expect(await screen.findByTestId("registration-disabled")).toHaveTextContent("Registration is closed")
  })

  it("maps a duplicate username and a 422 field to inline errors", async () => {
    mockFetch()
      .next(() => errorResponse(409, "user_exists", "exists"))
      .next(() =>
        errorResponse(422, "validation_error", "bad", { field: "password", reason: "must not contain the username" })
      )
    const user = userEvent.setup()
    render(<RegisterForm client={createApiClient({ tokens: memoryTokenStore() })} />)

    await user.type(screen.getByTestId("register-username"), "alice")
    await user.type(screen.getByTestId("register-password"), "alice-password")
    await user.click(screen.getByTestId("register-submit"))
    expect(await screen.findByTestId("register-username-error")).toHaveTextContent("taken")

    await user.click(screen.getByTestId("register-submit"))
    expect(await screen.findByTestId("register-password-error")).toHaveTextContent("must not contain the username")
  })
})
