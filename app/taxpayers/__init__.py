"""Taxpayers: their accounts in the taxpayer space (sign-up, password, sign-in codes), the
drafts kept across a sign-in, and their data export."""
