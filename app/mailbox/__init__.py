"""The offices' shared mailboxes (BALF): the SMTP endpoint, the intake of e-mails as cases of
channel ``email``, answers by e-mail and the conversion to a request (docs/decisions/0018)."""
