"""The GitHub API: the only importer of PyGithub; returns the project's own types (docs/github.md)."""
