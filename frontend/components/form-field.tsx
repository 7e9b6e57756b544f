import { Label } from "@/components/ui/label"

interface FormFieldProps {
  id: string
  label: string
  error?: string | null
  hint?: string
  children: React.ReactNode
}

/** Label, control and the inline error under it (tied to the control by aria-describedby). */
export function FormField({ id, label, error, hint, children }: FormFieldProps) {
  return (
    <div className="grid gap-1.5">
      <Label htmlFor={id}>{label}</Label>
      {children}
      {error ? (
        <p id={`${id}-error`} className="text-xs text-destructive" data-testid={`${id}-error`} role="alert">
          {error}
        </p>
      ) : hint ? (
        <p id={`${id}-hint`} className="text-xs text-muted-foreground">
          {hint}
        </p>
      ) : null}
    </div>
  )
}

export function describedBy(id: string, error?: string | null, hint?: string) {
  return error ? `${id}-error` : hint ? `${id}-hint` : undefined
}

/** The part of an API field path the form knows: "trades[0].quantity" → "quantity". */
export function fieldName(path: string | null): string | null {
  if (!path) return null
  return path.split(/[.[\]]/).filter(Boolean).pop() ?? null
}

export const selectClassName =
  "flex h-9 w-full rounded-md border border-input bg-transparent px-3 py-1 text-base shadow-xs outline-none focus-visible:border-ring focus-visible:ring-[3px] focus-visible:ring-ring/50 md:text-sm dark:bg-input/30 [&>option]:bg-popover"
