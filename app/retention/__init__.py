"""Retention: archiving, purging cases and internal notes when their periods end, legal holds
skipped."""
