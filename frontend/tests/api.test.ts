import { afterEach, describe, expect, it, vi } from "vitest"

import { ApiError, createApiClient } from "@/lib/api"
import { memoryTokenStore } from "@/lib/session"
import { errorResponse, jsonResponse, mockFetch } from "./helpers"

const me = { username: "alice", display_name: "Alice", role: "trader" }
const pair = (n: number) => ({
  access_token: `access-${n}`,
  refresh_token: `refresh-${n}`,
  token_type: "Bearer",
  expires_in: 900,
})

function authHeader(init: RequestInit | undefined): string | undefined {
  return (init?.headers as Record<string, string> | undefined)?.Authorization
}

afterEach(() => vi.unstubAllGlobals())

describe("api client token handling", () => {
  it("refreshes once on a 401, stores the rotated pair and retries", async () => {
    const tokens = memoryTokenStore({ accessToken: "access-1", refreshToken: "refresh-1" })
    const fetchMock = mockFetch()
      .next(() => errorResponse(401, "token_expired", "expired"))
      .reply(pair(2))
      .reply(me)
    const client = createApiClient({ tokens })

    await expect(client.me()).resolves.toEqual(me)

    const calls = fetchMock.fn.mock.calls
    expect(calls.map(([url]) => url)).toEqual(["/v1/me", "/v1/token/refresh", "/v1/me"])
    expect(authHeader(calls[0]?.[1])).toBe("Bearer access-1")
    expect(authHeader(calls[1]?.[1])).toBe("Bearer refresh-1")
    expect(calls[1]?.[1]?.method).toBe("POST")
    expect(authHeader(calls[2]?.[1])).toBe("Bearer access-2")
    expect(tokens.get()).toEqual({ accessToken: "access-2", refreshToken: "refresh-2" })
  })

  it("does not loop: a second 401 after the refresh is an error", async () => {
    const tokens = memoryTokenStore({ accessToken: "a", refreshToken: "r" })
    const fetchMock = mockFetch()
      .next(() => errorResponse(401, "token_expired", "expired"))
      .reply(pair(2))
      .next(() => errorResponse(401, "token_revoked", "revoked"))
    const client = createApiClient({ tokens })

    await expect(client.me()).rejects.toMatchObject({ status: 401, code: "token_revoked" })
    expect(fetchMock.fn).toHaveBeenCalledTimes(3)
  })

  it("clears the tokens and reports the expired session when the refresh fails", async () => {
    const tokens = memoryTokenStore({ accessToken: "a", refreshToken: "r" })
    const onSessionExpired = vi.fn()
    mockFetch()
      .next(() => errorResponse(401, "token_expired", "expired"))
      .next(() => errorResponse(401, "token_revoked", "refresh revoked"))
    const client = createApiClient({ tokens, onSessionExpired })

    const error = await client.me().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 401, code: "session_expired" })
    expect(tokens.get()).toBeNull()
    expect(onSessionExpired).toHaveBeenCalledTimes(1)
  })

  it("shares one refresh between parallel 401s (refresh tokens rotate)", async () => {
    const tokens = memoryTokenStore({ accessToken: "a", refreshToken: "r" })
    let refreshes = 0
    const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input)
      if (url === "/v1/token/refresh") {
        refreshes++
        return jsonResponse(pair(2))
      }
      return authHeader(init) === "Bearer access-2"
        ? jsonResponse(me)
        : errorResponse(401, "token_expired", "expired")
    })
    vi.stubGlobal("fetch", fetchMock)
    const client = createApiClient({ tokens })

    await Promise.all([client.me(), client.me(), client.me()])
    expect(refreshes).toBe(1)
  })

  it("does not attach or refresh tokens for public reads", async () => {
    const tokens = memoryTokenStore({ accessToken: "a", refreshToken: "r" })
    const fetchMock = mockFetch().next(() => errorResponse(401, "nope", "nope"))
    const client = createApiClient({ tokens })

    await expect(client.listBoards()).rejects.toMatchObject({ status: 401 })
    expect(authHeader(fetchMock.fn.mock.calls[0]?.[1])).toBeUndefined()
    expect(fetchMock.fn).toHaveBeenCalledTimes(1)
    expect(tokens.get()).not.toBeNull()
  })

  it("maps the API's error body, Retry-After and network failures to ApiError", async () => {
    mockFetch()
      .next(() =>
        jsonResponse({ error: { code: "rate_limited", message: "slow down", details: {} } }, 429, {
          "Retry-After": "30",
        })
      )
      .fail()
    const client = createApiClient({ tokens: memoryTokenStore() })

    await expect(client.login("a", "b")).rejects.toMatchObject({
      status: 429,
      code: "rate_limited",
      message: "slow down",
      retryAfter: 30,
    })
    await expect(client.listBoards()).rejects.toMatchObject({ status: 0, code: "network_error" })
  })

  it("logout revokes with the access token and forgets the session", async () => {
    const tokens = memoryTokenStore({ accessToken: "a", refreshToken: "r" })
    const fetchMock = mockFetch().reply({ revoked: true })
    const client = createApiClient({ tokens })

    await client.logout()
    expect(fetchMock.fn.mock.calls[0]?.[0]).toBe("/v1/logout")
    expect(authHeader(fetchMock.fn.mock.calls[0]?.[1])).toBe("Bearer a")
    expect(tokens.get()).toBeNull()
  })
})
