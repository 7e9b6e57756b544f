"use client"

import { useCallback } from "react"
import { useRouter } from "next/navigation"
import { Provider as JotaiProvider } from "jotai"
import { toast } from "sonner"

import { Toaster } from "@/components/ui/sonner"
import { useSessionSync } from "@/hooks/use-session"
import { useTheme } from "@/hooks/use-theme"

function SessionSync() {
  const router = useRouter()
  const onExpired = useCallback(
    () =>
      toast.error("Your session expired. Please log in again.", {
        action: { label: "Log in", onClick: () => router.push("/login/") },
      }),
    [router]
  )
  useSessionSync(onExpired)
  return null
}

function ThemedToaster() {
  const { theme } = useTheme()
  return <Toaster theme={theme} position="bottom-right" richColors closeButton />
}

export function Providers({ children }: { children: React.ReactNode }) {
  return (
    <JotaiProvider>
      <SessionSync />
      {children}
      <ThemedToaster />
    </JotaiProvider>
  )
}
