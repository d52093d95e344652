"""Accounts' private data per day: reconciled from the exchange's REST API, then checked."""
