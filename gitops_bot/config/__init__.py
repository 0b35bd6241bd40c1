"""The `.gitops-bot.yaml` configuration: loading, validation and the typed settings (docs/configuration.md)."""
