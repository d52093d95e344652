"""Secrets: envelope encryption of API credentials, master keys, and log redaction.

Nothing outside this package handles key material; everything else sees
:class:`~daemons.secrets.envelope.Secret` objects whose repr shows no value.
"""
