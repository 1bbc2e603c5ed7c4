"""Importing operator files: a streaming CSV reader (`csvfile`) and the importers built on
it (`contacts`). Import the submodules directly; this package re-exports nothing so that
the reader stays free of database imports."""
