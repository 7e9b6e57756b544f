"use client"

import { useCallback, useEffect } from "react"
import { atom, useAtom } from "jotai"

import { applyTheme, currentTheme, type Theme } from "@/lib/theme"

// Dark by default, as the server-rendered <html class="dark">.
const themeAtom = atom<Theme>("dark")

export function useTheme() {
  const [theme, setTheme] = useAtom(themeAtom)

  useEffect(() => {
    setTheme(currentTheme())
  }, [setTheme])

  const toggle = useCallback(() => {
    const next: Theme = currentTheme() === "dark" ? "light" : "dark"
    applyTheme(next)
    setTheme(next)
  }, [setTheme])

  return { theme, toggle }
}
