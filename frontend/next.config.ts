import type { NextConfig } from "next"

// `next dev` proxies the API so the browser sees one origin, as it does when
// Flask serves the static export. Rewrites do not exist in an export build.
const isDev = process.env.NODE_ENV === "development"
const apiUrl = process.env.API_URL ?? "http://127.0.0.1:8000"
const proxiedPaths = ["/v1/:path*", "/api/:path*", "/health", "/ready", "/assets/:path*"]

const nextConfig: NextConfig = {
  output: isDev ? undefined : "export",
  trailingSlash: true,
  images: { unoptimized: true },
  reactStrictMode: true,
  ...(isDev
    ? {
        // Otherwise /v1/leaderboards would be redirected to /v1/leaderboards/ before the proxy.
        skipTrailingSlashRedirect: true,
        async rewrites() {
          return proxiedPaths.map((source) => ({
            source,
            destination: `${apiUrl}${source}`,
          }))
        },
      }
    : {}),
}

export default nextConfig
