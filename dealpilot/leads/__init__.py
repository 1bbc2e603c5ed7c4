"""Inbound leads: contact forms and product events (a Desi Firms registration, a listing) that
create or advance deals. Not to be confused with inbound *events* about sent mail
(`dealpilot.intake`)."""
