import type { Metadata, Viewport } from "next"
import { GeistMono } from "geist/font/mono"
import { GeistSans } from "geist/font/sans"

import "./globals.css"

import { Providers } from "@/app/providers"
import { SiteHeader } from "@/components/site-header"
import { THEME_INIT_SCRIPT } from "@/lib/theme"
import { cn } from "@/lib/utils"

export const metadata: Metadata = {
  title: { default: "Leaderboard", template: "%s · Leaderboard" },
  description: "Real-time leaderboards for trading venues and games.",
}

export const viewport: Viewport = {
  themeColor: [
    { media: "(prefers-color-scheme: dark)", color: "#0a0a0a" },
    { media: "(prefers-color-scheme: light)", color: "#ffffff" },
  ],
}

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en" className="dark" style={{ colorScheme: "dark" }} suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: THEME_INIT_SCRIPT }} />
      </head>
      <body className={cn("min-h-dvh font-sans", GeistSans.variable, GeistMono.variable)}>
        <Providers>
          <SiteHeader />
          <main className="mx-auto w-full max-w-6xl px-3 py-6 sm:px-6">{children}</main>
        </Providers>
      </body>
    </html>
  )
}
