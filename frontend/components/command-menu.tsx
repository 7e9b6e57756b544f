"use client"

import { useEffect, useState } from "react"
import { useRouter, useSearchParams } from "next/navigation"
import { HistoryIcon, LogInIcon, MoonIcon, SearchIcon } from "lucide-react"

import { BoardIcon } from "@/components/board-icon"
import { Button } from "@/components/ui/button"
import {
  CommandDialog,
  CommandEmpty,
  CommandGroup,
  CommandInput,
  CommandItem,
  CommandList,
  CommandSeparator,
  CommandShortcut,
} from "@/components/ui/command"
import { liveBoardHref } from "@/hooks/use-board-params"
import { useCatalog } from "@/hooks/use-catalog"
import { useTheme } from "@/hooks/use-theme"
import { PERIOD_LABELS, PERIODS, isPeriod } from "@/lib/schemas"

/** Ctrl/Cmd-K palette: jump to a board or period, history, login, theme. */
export function CommandMenu() {
  const [open, setOpen] = useState(false)
  const router = useRouter()
  const params = useSearchParams()
  const { state } = useCatalog()
  const { toggle } = useTheme()
  const boards = state.status === "ready" ? state.catalog.boards : []
  const rawPeriod = params.get("period")
  const period = isPeriod(rawPeriod) ? rawPeriod : "day"
  const board = params.get("board") ?? "all-volume"

  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key.toLowerCase() === "k" && (event.metaKey || event.ctrlKey)) {
        event.preventDefault()
        setOpen((value) => !value)
      }
    }
    document.addEventListener("keydown", onKeyDown)
    return () => document.removeEventListener("keydown", onKeyDown)
  }, [])

  const run = (action: () => void) => {
    setOpen(false)
    action()
  }

  return (
    <>
      <Button
        variant="outline"
        size="sm"
        className="gap-2 text-muted-foreground sm:w-52 sm:justify-between"
        onClick={() => setOpen(true)}
        data-testid="command-trigger"
        aria-label="Search boards (Ctrl K)"
      >
        <span className="flex items-center gap-2">
          <SearchIcon aria-hidden />
          <span className="hidden sm:inline">Search boards…</span>
        </span>
        <kbd className="hidden rounded border bg-muted px-1.5 font-mono text-[10px] sm:inline">Ctrl K</kbd>
      </Button>
      <CommandDialog open={open} onOpenChange={setOpen} title="Search boards">
        <CommandInput placeholder="Type a board, a period or a command…" data-testid="command-input" />
        <CommandList>
          <CommandEmpty>No match.</CommandEmpty>
          <CommandGroup heading="Boards">
            {boards.map((item) => (
              <CommandItem
                key={item.id}
                value={`${item.title} ${item.id} ${item.symbol ?? ""}`}
                onSelect={() => run(() => router.push(liveBoardHref(item.id, period)))}
                data-testid={`command-board-${item.id}`}
              >
                <BoardIcon board={item} />
                {item.title}
                <CommandShortcut>{item.unit}</CommandShortcut>
              </CommandItem>
            ))}
          </CommandGroup>
          <CommandSeparator />
          <CommandGroup heading="Periods">
            {PERIODS.map((item) => (
              <CommandItem
                key={item}
                value={`period ${PERIOD_LABELS[item]} ${item}`}
                onSelect={() => run(() => router.push(liveBoardHref(board, item)))}
              >
                {PERIOD_LABELS[item]}
              </CommandItem>
            ))}
          </CommandGroup>
          <CommandSeparator />
          <CommandGroup heading="Go to">
            <CommandItem value="history archive" onSelect={() => run(() => router.push(`/history/?board=${encodeURIComponent(board)}`))}>
              <HistoryIcon aria-hidden /> History
            </CommandItem>
            <CommandItem value="log in sign in" onSelect={() => run(() => router.push("/login/"))}>
              <LogInIcon aria-hidden /> Log in
            </CommandItem>
            <CommandItem value="toggle theme dark light" onSelect={() => run(toggle)}>
              <MoonIcon aria-hidden /> Toggle theme
            </CommandItem>
          </CommandGroup>
        </CommandList>
      </CommandDialog>
    </>
  )
}
