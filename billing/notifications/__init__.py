"""Delivering what `billing.alerts` decided: the outbox of deliveries (`outbox`), channels and their secrets
(`channels`, `channel_admin`), where HTTP channels may send (`destinations`), the one HTTP seam of
notifications (`transports`), message building for email, Slack and webhooks (`emails`, `messages`,
`notify`), and digests (`digests`, `digest_content`).

Imports point down: this package imports `billing.alerts`, never the reverse.
"""
