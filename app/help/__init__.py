"""The online help: Markdown pages kept in the repository, rendered and searched (issue 19)."""
