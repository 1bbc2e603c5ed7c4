"""Tracking links: signed tokens for the open pixel, click redirects and unsubscribe links, and
the rewriting of an email's links (tracker)."""
