"use client"

import { useCallback } from "react"
import { Provider as JotaiProvider } from "jotai"
import { toast } from "sonner"

import { Toaster } from "@/components/ui/sonner"
import { useSessionSync } from "@/hooks/use-session"

function SessionSync() {
  const onExpired = useCallback(() => toast.error("Your session expired. Please log in again."), [])
  useSessionSync(onExpired)
  return null
}

export function Providers({ children }: { children: React.ReactNode }) {
  return (
    <JotaiProvider>
      <SessionSync />
      {children}
      <Toaster position="bottom-right" richColors closeButton />
    </JotaiProvider>
  )
}
