"""The operator's desk: the read side of the console (today's work, the pipeline board, a
deal's page), each query narrowed to the brands the user may see (accounts.BrandScope) and
shaped so a page costs a fixed number of queries, whatever the number of rows."""
