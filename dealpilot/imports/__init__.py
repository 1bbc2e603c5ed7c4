"""Importing operator files: a streaming CSV reader (`csvfile`) and the contact importer built on
it (`contacts`; `mx` checks mail domains for it). The backlink import, built on the same reader,
lives with its domain in `dealpilot.backlinks.imports`. Import the submodules directly; this
package re-exports nothing so that the reader stays free of database imports."""
