"""Importing operator files: a streaming CSV reader (`csvfile`) and the importers built on
it (`contacts`, `backlinks`; `mx` checks mail domains for the contact import). Import the
submodules directly; this package re-exports nothing so that the reader stays free of
database imports."""
