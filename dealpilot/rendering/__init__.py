"""Rendering emails: the sandboxed Jinja2 renderer with the brand layouts (renderer) and a
deal's stage email rendered without side effects (stage_email), shared by the send, previews,
the review queue and composer drafts."""
