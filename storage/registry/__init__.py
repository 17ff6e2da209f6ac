"""The agency registry: agencies, tokens, certificates, national SDK credentials, and its cache."""
