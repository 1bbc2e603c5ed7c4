"""Contacts: the shared search conditions of the contact list and the composer's recipients."""
