"""Notifications: the e-mail outbox (rows written in the transaction that causes them) and the
alerts built on it. Sending is a job (``jobs.notifications``)."""
