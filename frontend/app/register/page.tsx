import type { Metadata } from "next"

import { RegisterForm } from "@/components/auth-forms"

export const metadata: Metadata = { title: "Register" }

export default function RegisterPage() {
  return (
    <div className="py-8">
      <RegisterForm />
    </div>
  )
}
