import { avatarColors, initials } from "@/lib/avatar"
import { cn } from "@/lib/utils"

interface UserAvatarProps {
  userId: string
  name: string
  className?: string
}

/** A gradient disc with initials, derived from the user id alone. */
export function UserAvatar({ userId, name, className }: UserAvatarProps) {
  const [from, to] = avatarColors(userId)
  return (
    <span
      aria-hidden
      data-testid="user-avatar"
      className={cn(
        "inline-flex size-8 shrink-0 items-center justify-center rounded-full text-xs font-semibold text-white select-none",
        className
      )}
      style={{ backgroundImage: `linear-gradient(135deg, ${from}, ${to})` }}
    >
      {initials(name)}
    </span>
  )
}
