"""What every layer shares: settings, logging, metrics, the error family and the enums. Imports
nothing else of ours; `enums` is stdlib-only so that workflows may import it."""
