"""The click command line: the only importer of click. Each command parses, calls one `ops` function, renders."""
