import { vi } from "vitest"

/** Stand-ins for next/navigation: tests set the query string and read pushes. */
export const navigation = {
  search: new URLSearchParams(),
  pathname: "/",
  push: vi.fn(),
  replace: vi.fn(),
}

vi.mock("next/navigation", () => ({
  useRouter: () => ({ push: navigation.push, replace: navigation.replace }),
  usePathname: () => navigation.pathname,
  useSearchParams: () => navigation.search,
}))
