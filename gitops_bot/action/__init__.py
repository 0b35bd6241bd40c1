"""The GitHub Actions side: outputs, step summary, annotations, and the Action's inputs."""
