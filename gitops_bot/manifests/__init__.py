"""YAML text to image references and byte-exact edits (docs/image-references.md, docs/editing.md). Pure."""
