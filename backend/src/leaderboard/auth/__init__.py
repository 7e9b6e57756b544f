"""Users, passwords, tokens and the guards views use."""
