"""Value objects and pure rules: image names, tags, errors and exit codes, policies.

Imports nothing else of gitops_bot."""
