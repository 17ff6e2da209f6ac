"""Payloads: small ones inline in the database, larger ones in a file or chunk backend."""
