"use client"

import Link from "next/link"
import { useRouter } from "next/navigation"
import { LogOutIcon } from "lucide-react"
import { toast } from "sonner"

import { UserAvatar } from "@/components/user-avatar"
import { Button } from "@/components/ui/button"
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu"
import { useSession } from "@/hooks/use-session"
import { api } from "@/lib/api"

export function UserMenu() {
  const session = useSession()
  const router = useRouter()

  if (session.status === "loading") return <div className="size-9" aria-hidden />
  if (session.status === "anonymous") {
    return (
      <Button asChild size="sm" data-testid="login-link">
        <Link href="/login/">Log in</Link>
      </Button>
    )
  }

  const { user } = session
  const logout = async () => {
    await api.logout()
    toast.success("Logged out")
    router.push("/")
  }

  return (
    <DropdownMenu>
      <DropdownMenuTrigger asChild>
        <Button
          variant="ghost"
          className="gap-2 px-2"
          data-testid="user-menu"
          aria-label={`Account menu for ${user.display_name}`}
        >
          <UserAvatar userId={user.username} name={user.display_name} className="size-7" />
          <span className="hidden max-w-32 truncate sm:inline">{user.display_name}</span>
        </Button>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end" className="w-56">
        <DropdownMenuLabel>
          <div className="truncate">{user.display_name}</div>
          <div className="truncate text-xs font-normal text-muted-foreground" data-testid="user-menu-username">
            @{user.username} · {user.role}
          </div>
        </DropdownMenuLabel>
        <DropdownMenuSeparator />
        <DropdownMenuItem onSelect={() => void logout()} data-testid="logout">
          <LogOutIcon aria-hidden /> Log out
        </DropdownMenuItem>
      </DropdownMenuContent>
    </DropdownMenu>
  )
}
