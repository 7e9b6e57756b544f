"""The security headers every response carries, with no web framework: security.py adds them to Flask's
responses, the ASGI push tier (live/stream.py) to its own."""

from __future__ import annotations

# Scripts: same origin only, never 'unsafe-inline' (the dashboard keeps tokens in localStorage, so an injected
# inline script must not run). HTML pages that carry inline scripts of their own (the Next.js export's bootstrap
# `self.__next_f.push(...)`, the API docs' Swagger UI set-up) get a policy naming each one by its SHA-256
# (`security.html_policy`); the hashes change with every build, so they are computed from the page as it is served.
# Inline styles stay allowed (style attributes cannot be hashed; they cannot run code).
POLICY_PARTS = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]
CONTENT_SECURITY_POLICY = "; ".join(POLICY_PARTS)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
