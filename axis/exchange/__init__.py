"""The exchange's use cases: submission, statuses, mailbox, group committer, delivery, listings (no HTTP here)."""
