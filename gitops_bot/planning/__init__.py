"""Manifests plus the wanted state to a plan of edits; holds, environment states and values files."""
