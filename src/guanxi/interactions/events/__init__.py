"""Web behaviour events (网页浏览): ingest from the shop, browsing sessions, linking visitors to
customers, the ingest settings and the purge job."""
