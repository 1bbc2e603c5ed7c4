"""Request-independent logic the routes call. Nothing here commits: the request does."""
