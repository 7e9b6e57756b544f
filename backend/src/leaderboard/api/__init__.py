"""HTTP API: one blueprint per resource. Views validate, call the domain, return JSON; no Redis calls here."""
