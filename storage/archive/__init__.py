"""The archive: blobs ledger and fixity, audit heads, retention and disposal, reports, registers."""
