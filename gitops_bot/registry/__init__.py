"""Image registries: an OCI Distribution client, `--verify-image`/`--pin-digest`, and image policies."""
