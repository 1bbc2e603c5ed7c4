"""The composer: emails an operator writes for many recipients at once (campaign drafts), with
pasted or filtered recipients, previews, scheduling and the send that enrols each recipient as a
deal. Not to be confused with a deal's own stage emails (`dealpilot.rendering.stage_email`)."""
