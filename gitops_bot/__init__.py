"""gitops-bot: a GitOps repository bot for Flux image tags."""

__version__ = "0.1.0"
