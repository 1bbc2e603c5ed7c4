"""The review queue: emails held for a person before they go (review mode) and AI-suggested
replies, approved, edited or rejected by an operator. (The 09:00 job that summarises the day is
the *daily review*, in `dealpilot.reporting.daily`.)"""
