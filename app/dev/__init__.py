"""Developer tools: the demo data, the single-machine runner (``make run``) and the local mail
capture. Production code never imports this package (an import-linter contract)."""
