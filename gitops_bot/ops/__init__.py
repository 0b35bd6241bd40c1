"""One use-case function per command: bump, promote, status, history, rollback, revert, hold, canary,
reconcile, watch, validate, wait."""
