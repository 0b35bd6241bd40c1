"""A session against the GitOps repository and the delivery of its commits: push with reconcile, or a pull request."""
