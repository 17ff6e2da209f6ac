"""People of the web UI: accounts and sessions, their management by operators, login throttling."""
