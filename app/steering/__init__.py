"""Steering: the figures of the office tree (backlog, handling times, volumes), the rollups that
keep them fast, and who may see which subtree."""
