"use client"

import { MoonIcon, SunIcon } from "lucide-react"

import { Button } from "@/components/ui/button"
import { useTheme } from "@/hooks/use-theme"

export function ThemeToggle() {
  const { theme, toggle } = useTheme()
  const label = theme === "dark" ? "Switch to light theme" : "Switch to dark theme"
  return (
    <Button variant="ghost" size="icon" onClick={toggle} aria-label={label} title={label} data-testid="theme-toggle">
      {theme === "dark" ? <SunIcon aria-hidden /> : <MoonIcon aria-hidden />}
    </Button>
  )
}
