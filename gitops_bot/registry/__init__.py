"""Image registries: an OCI Distribution client, its credentials and endpoints, and
`--verify-image`/`--pin-digest` (docs/registry.md)."""
