"use client"

import { useState, useSyncExternalStore } from "react"
import Link from "next/link"
import { useRouter } from "next/navigation"
import { toast } from "sonner"

import { describedBy, FormField, fieldName } from "@/components/form-field"
import { Button } from "@/components/ui/button"
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "@/components/ui/card"
import { Input } from "@/components/ui/input"
import { useSession } from "@/hooks/use-session"
import { api, isApiError, type ApiClient, type ApiError } from "@/lib/api"

/** The API's rules for a new password (PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH defaults), checked before sending. */
export const PASSWORD_MIN_LENGTH = 8
export const PASSWORD_MAX_LENGTH = 256
const PASSWORD_RULE = `At least ${PASSWORD_MIN_LENGTH} characters.`

function loginErrorMessage(error: ApiError): string {
  if (error.status === 401) return "Wrong username or password."
  if (error.status === 429) {
    return error.retryAfter
      ? `Too many attempts. Try again in ${error.retryAfter} s.`
      : "Too many attempts. Try again in a moment."
  }
  return error.message
}

const noSubscription = () => () => {}

export function LoginForm({ client = api }: { client?: ApiClient }) {
  const router = useRouter()
  const session = useSession()
  const [switching, setSwitching] = useState(false)
  // the exported page holds the form: hydrate that, then say who is logged in (a session known before
  // hydration would otherwise render something else than the HTML being hydrated)
  const hydrated = useSyncExternalStore(noSubscription, () => true, () => false)
  const [username, setUsername] = useState("")
  const [password, setPassword] = useState("")
  const [error, setError] = useState<string | null>(null)
  const [submitting, setSubmitting] = useState(false)

  if (hydrated && session.status === "authenticated" && !switching && !submitting) {
    return (
      <Card className="mx-auto w-full max-w-sm" data-testid="already-logged-in">
        <CardHeader>
          <CardTitle className="text-xl">You are logged in</CardTitle>
          <CardDescription>As @{session.user.username}.</CardDescription>
        </CardHeader>
        <CardFooter className="flex flex-wrap gap-2">
          <Button asChild>
            <Link href="/">Go to the board</Link>
          </Button>
          <Button variant="outline" onClick={() => setSwitching(true)} data-testid="login-as-someone-else">
            Log in as someone else
          </Button>
        </CardFooter>
      </Card>
    )
  }

  const submit = async (event: React.FormEvent) => {
    event.preventDefault()
    if (!username.trim() || !password) return setError("Enter your username and password.")
    setSubmitting(true)
    setError(null)
    try {
      await client.login(username.trim(), password)
      toast.success("Logged in")
      router.push("/")
    } catch (caught) {
      if (!isApiError(caught)) throw caught
      setError(loginErrorMessage(caught))
    } finally {
      setSubmitting(false)
    }
  }

  return (
    <Card className="mx-auto w-full max-w-sm">
      <CardHeader>
        <CardTitle className="text-xl">Log in</CardTitle>
        <CardDescription>See your rank and post trades.</CardDescription>
      </CardHeader>
      <CardContent>
        <form noValidate onSubmit={submit} className="grid gap-4" data-testid="login-form" aria-label="Log in">
          <FormField id="login-username" label="Username">
            <Input
              id="login-username"
              data-testid="login-username"
              autoComplete="username"
              autoFocus
              value={username}
              onChange={(event) => setUsername(event.target.value)}
            />
          </FormField>
          <FormField id="login-password" label="Password">
            <Input
              id="login-password"
              data-testid="login-password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(event) => setPassword(event.target.value)}
            />
          </FormField>
          {error ? (
            <p className="text-sm text-destructive" role="alert" data-testid="login-error">
              {error}
            </p>
          ) : null}
          <Button type="submit" disabled={submitting} data-testid="login-submit">
            {submitting ? "Logging in…" : "Log in"}
          </Button>
        </form>
      </CardContent>
      <CardFooter className="text-sm text-muted-foreground">
        No account?&nbsp;
        <Link href="/register/" className="text-foreground underline underline-offset-4">
          Register
        </Link>
      </CardFooter>
    </Card>
  )
}

type RegisterField = "username" | "password" | "display_name"
const REGISTER_FIELDS: readonly string[] = ["username", "password", "display_name"]

export function RegisterForm({ client = api }: { client?: ApiClient }) {
  const router = useRouter()
  const [values, setValues] = useState({ username: "", password: "", display_name: "" })
  const [errors, setErrors] = useState<Partial<Record<RegisterField, string>>>({})
  const [formError, setFormError] = useState<string | null>(null)
  const [disabled, setDisabled] = useState(false)
  const [submitting, setSubmitting] = useState(false)

  const set = (field: RegisterField) => (event: React.ChangeEvent<HTMLInputElement>) =>
    setValues((current) => ({ ...current, [field]: event.target.value }))

  const submit = async (event: React.FormEvent) => {
    event.preventDefault()
    const found: Partial<Record<RegisterField, string>> = {}
    if (!values.username.trim()) found.username = "Required"
    if (!values.password) found.password = "Required"
    else if (values.password.length < PASSWORD_MIN_LENGTH) found.password = PASSWORD_RULE
    else if (values.password.length > PASSWORD_MAX_LENGTH) found.password = `At most ${PASSWORD_MAX_LENGTH} characters.`
    setErrors(found)
    setFormError(null)
    if (Object.keys(found).length > 0) return
    setSubmitting(true)
    try {
      const username = values.username.trim()
      await client.register({
        username,
        password: values.password,
        ...(values.display_name.trim() ? { display_name: values.display_name.trim() } : {}),
      })
      await client.login(username, values.password)
      toast.success("Welcome aboard", { description: `Registered as @${username}` })
      router.push("/")
    } catch (caught) {
      if (!isApiError(caught)) throw caught
      const field = fieldName(caught.field)
      if (caught.status === 403 && caught.code === "registration_disabled") setDisabled(true)
      else if (caught.status === 409) setErrors({ username: "That username is taken." })
      else if (field && REGISTER_FIELDS.includes(field)) {
        const reason = typeof caught.details.reason === "string" ? caught.details.reason : caught.message
        setErrors({ [field]: reason })
      } else setFormError(caught.message)
    } finally {
      setSubmitting(false)
    }
  }

  if (disabled) {
    return (
      <Card className="mx-auto w-full max-w-sm" data-testid="registration-disabled">
        <CardHeader>
          <CardTitle className="text-xl">Registration is closed</CardTitle>
          <CardDescription>
            This server does not accept new accounts. Ask an operator for one, then log in.
          </CardDescription>
        </CardHeader>
        <CardFooter>
          <Button asChild variant="outline">
            <Link href="/login/">Go to log in</Link>
          </Button>
        </CardFooter>
      </Card>
    )
  }

  return (
    <Card className="mx-auto w-full max-w-sm">
      <CardHeader>
        <CardTitle className="text-xl">Create an account</CardTitle>
        <CardDescription>Trade and climb the boards.</CardDescription>
      </CardHeader>
      <CardContent>
        <form noValidate onSubmit={submit} className="grid gap-4" data-testid="register-form" aria-label="Register">
          <FormField id="register-username" label="Username" error={errors.username}>
            <Input
              id="register-username"
              data-testid="register-username"
              autoComplete="username"
              value={values.username}
              onChange={set("username")}
              aria-invalid={errors.username ? true : undefined}
              aria-describedby={describedBy("register-username", errors.username)}
            />
          </FormField>
          <FormField id="register-display-name" label="Display name (optional)" error={errors.display_name}>
            <Input
              id="register-display-name"
              data-testid="register-display-name"
              autoComplete="nickname"
              value={values.display_name}
              onChange={set("display_name")}
              aria-invalid={errors.display_name ? true : undefined}
              aria-describedby={describedBy("register-display-name", errors.display_name)}
            />
          </FormField>
          <FormField id="register-password" label="Password" error={errors.password} hint={PASSWORD_RULE}>
            <Input
              id="register-password"
              data-testid="register-password"
              type="password"
              autoComplete="new-password"
              value={values.password}
              onChange={set("password")}
              aria-invalid={errors.password ? true : undefined}
              aria-describedby={describedBy("register-password", errors.password, PASSWORD_RULE)}
            />
          </FormField>
          {formError ? (
            <p className="text-sm text-destructive" role="alert" data-testid="register-error">
              {formError}
            </p>
          ) : null}
          <Button type="submit" disabled={submitting} data-testid="register-submit">
            {submitting ? "Creating…" : "Register"}
          </Button>
        </form>
      </CardContent>
      <CardFooter className="text-sm text-muted-foreground">
        Have an account?&nbsp;
        <Link href="/login/" className="text-foreground underline underline-offset-4">
          Log in
        </Link>
      </CardFooter>
    </Card>
  )
}
